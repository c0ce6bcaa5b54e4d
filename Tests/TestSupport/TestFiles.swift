// TemporaryDirectory lives in TestFiles, which needs no libtorch (the file-format tests use it alone).
@_exported public import TestFiles
