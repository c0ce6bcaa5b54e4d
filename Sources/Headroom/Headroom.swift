// The library's one import: every layer, for the command-line tool and for programs that train
// with Headroom. Code inside the package imports the layers it uses, one by one.
@_exported public import HeadroomData
@_exported public import HeadroomDistributed
@_exported public import HeadroomExecution
@_exported public import HeadroomFormats
@_exported public import HeadroomInference
@_exported public import HeadroomMemory
@_exported public import HeadroomModels
@_exported public import HeadroomReporting
@_exported public import HeadroomTraining
