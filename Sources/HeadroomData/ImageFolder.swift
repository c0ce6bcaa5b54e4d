/// torchvision's `ImageFolder` layout: `root/<class>/**/<image>`.
///
/// Classes are the subfolders of `root` sorted by code point, indexed in that order. Within a
/// class, samples come in torchvision's order: folders (at any depth) sorted by full path, then
/// the files of each folder sorted by name. Symbolic links are followed, but a link back to one of
/// its own ancestors is not entered again. Where torchvision differs, this is deliberate: names
/// starting with "." (`.DS_Store`, `.ipynb_checkpoints`) are skipped, broken links are skipped,
/// and an unreadable folder is an error rather than silently missing.
public struct ImageFolder: Sendable {
    /// The extensions the decoder reads, lower case, without the dot; names match in any case.
    public static let defaultExtensions = ["jpeg", "jpg", "png", "webp", "tif", "tiff", "bmp", "dcm", "dicom"] + WholeSlide.extensions

    public let root: String
    public let extensions: [String]

    public init(root: String, extensions: [String] = ImageFolder.defaultExtensions) {
        // `os.path.join` drops a trailing separator the same way, so sample paths match torchvision's.
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
        self.extensions = extensions.map { $0.lowercased() }
    }

    /// Lists the classes and samples; throws if a class folder holds no image.
    public func scan() throws(DatasetError) -> LabeledSamples {
        guard FileSystem.isDirectory(root) == true else { throw .notADirectory(path: root) }
        let classes = try listEntries(of: root)
            .filter { !isHidden($0) && FileSystem.isDirectory(FileSystem.join(root, $0)) == true }
            .sortedByCodePoints()
        guard !classes.isEmpty else { throw .noClassFolders(root: root) }

        var samples: [Sample] = []
        var emptyClasses: [String] = []
        for (index, name) in classes.enumerated() {
            let classSamples = try imagePaths(under: FileSystem.join(root, name)).map { Sample(path: $0, classIndex: index) }
            if classSamples.isEmpty { emptyClasses.append(PathNames.display(name)) }
            samples += classSamples
        }
        guard emptyClasses.isEmpty else {
            throw .emptyClasses(root: root, classes: emptyClasses, extensions: extensions)
        }
        // A folder name's bytes that are not UTF-8 are shown escaped in the class's name.
        return LabeledSamples(classes: classes.map(PathNames.display), samples: samples)
    }

    /// Every image below `directory`, in the order of `sorted(os.walk(directory, followlinks=True))`.
    func imagePaths(under directory: String) throws(DatasetError) -> [String] {
        var folders: [(path: String, files: [String])] = []
        try walk(directory, ancestors: [FileSystem.realPath(directory) ?? directory], into: &folders)
        // os.walk yields (root, dirs, files) tuples; sorting them orders by the folder's full path.
        folders.sort { $0.path.precedesInCodePointOrder($1.path) }
        return folders.flatMap { folder in
            folder.files.filter(hasImageExtension).sortedByCodePoints().map { FileSystem.join(folder.path, $0) }
        }
    }

    private func walk(
        _ directory: String, ancestors: Set<String>, into folders: inout [(path: String, files: [String])]
    ) throws(DatasetError) {
        var files: [String] = []
        for name in try listEntries(of: directory) where !isHidden(name) {
            let path = FileSystem.join(directory, name)
            switch FileSystem.isDirectory(path) {
            case true?:
                // A link to an ancestor would make os.walk(followlinks=True) recurse forever.
                guard let real = FileSystem.realPath(path), !ancestors.contains(real) else { continue }
                try walk(path, ancestors: ancestors.union([real]), into: &folders)
            case false?:
                files.append(name)
            case nil:
                continue  // a broken link
            }
        }
        folders.append((directory, files))
    }

    private func listEntries(of directory: String) throws(DatasetError) -> [String] {
        switch FileSystem.entries(ofDirectory: directory) {
        case .success(let names): names
        case .failure(let failure): throw .unreadable(path: directory, reason: failure.reason)
        }
    }

    private func hasImageExtension(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return extensions.contains { lowered.hasSuffix("." + $0) }
    }

    private func isHidden(_ name: String) -> Bool { name.hasPrefix(".") }
}
