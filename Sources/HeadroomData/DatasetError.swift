/// Why a dataset could not be listed; every case names the file or folder at fault.
public enum DatasetError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notADirectory(path: String)
    case noClassFolders(root: String)
    case emptyClasses(root: String, classes: [String], extensions: [String])
    case classMismatch(onlyInTrain: [String], onlyInValidation: [String])
    case invalidManifestLine(path: String, line: Int, reason: String)
    case emptyManifest(path: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            "\(PathNames.display(path)): cannot read: \(reason)"
        case let .notADirectory(path):
            "\(PathNames.display(path)): not a directory; expected a dataset root holding one folder per class"
        case let .noClassFolders(root):
            "\(root): no class folders found; expected \(root)/<class>/<image>"
        case let .emptyClasses(root, classes, extensions):
            "\(root): no image files (\(extensions.map { "." + $0 }.joined(separator: ", "))) in the class "
                + "folder\(classes.count == 1 ? "" : "s") \(classes.joined(separator: ", ")); add images or remove the folder"
        case let .classMismatch(onlyInTrain, onlyInValidation):
            "training and validation classes differ: only in training: [\(onlyInTrain.joined(separator: ", "))], "
                + "only in validation: [\(onlyInValidation.joined(separator: ", "))]"
        case let .invalidManifestLine(path, line, reason):
            "\(path):\(line): \(reason)"
        case let .emptyManifest(path):
            "\(path): the manifest lists no images; expected lines of path,label"
        }
    }
}
