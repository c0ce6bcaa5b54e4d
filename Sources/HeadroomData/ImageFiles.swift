/// The image files a list of paths names, as `predict` takes them: a file as it is (whatever
/// its name), a directory for every image below it at any depth, in ImageFolder's order
/// and with its extensions and rules (hidden names skipped, symbolic links followed once).
public enum ImageFiles {
    /// Files in the order given, each directory expanded in place. A path that does not
    /// exist is kept, so that reading it reports the problem for that path alone.
    public static func expand(
        _ paths: [String], extensions: [String] = ImageFolder.defaultExtensions
    ) throws(DatasetError) -> [String] {
        var files: [String] = []
        for path in paths {
            if FileSystem.isDirectory(path) == true {
                let folder = ImageFolder(root: path, extensions: extensions)
                files += try folder.imagePaths(under: folder.root)
            } else {
                files.append(path)
            }
        }
        return files
    }
}
