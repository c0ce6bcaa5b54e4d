/// A `path,label` CSV listing images and their class names.
///
/// Fields follow RFC 4180: commas separate, double quotes enclose fields holding commas, quotes
/// or line breaks, and `""` inside quotes is one quote. Spaces around unquoted fields are
/// trimmed. A first line of exactly `path,label` (any case) is a header; blank lines are skipped.
/// Relative paths are resolved against the CSV's folder. Classes are the distinct labels sorted
/// by code point, as `ImageFolder` sorts its folders; samples keep the order of the file.
public struct CSVManifest: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func read() throws(DatasetError) -> LabeledSamples {
        switch readFileBytes(atPath: path) {
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .invalidManifestLine(path: path, line: 1, reason: "the file is not UTF-8 text")
            }
            return try samples(from: text)
        case .failure(let failure):
            throw .unreadable(path: path, reason: failure.reason)
        }
    }

    /// Parses manifest text as if it were the contents of the file at `path`.
    public func samples(from text: String) throws(DatasetError) -> LabeledSamples {
        var records = try CSVRecords.parse(text, source: path)
        if let first = records.first, first.fields.map({ $0.lowercased() }) == ["path", "label"] {
            records.removeFirst()
        }
        guard !records.isEmpty else { throw .emptyManifest(path: path) }

        let base = FileSystem.directory(of: path)
        var entries: [(path: String, label: String)] = []
        for record in records {
            guard record.fields.count == 2 else {
                throw .invalidManifestLine(path: path, line: record.line,
                                           reason: "expected 2 fields (path,label), found \(record.fields.count)")
            }
            let (imagePath, label) = (record.fields[0], record.fields[1])
            guard !imagePath.isEmpty else { throw .invalidManifestLine(path: path, line: record.line, reason: "empty path") }
            guard !label.isEmpty else { throw .invalidManifestLine(path: path, line: record.line, reason: "empty label") }
            entries.append((imagePath.hasPrefix("/") ? imagePath : FileSystem.join(base, imagePath), label))
        }

        let classes = Set(entries.map(\.label)).sortedByCodePoints()
        let indices = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        return LabeledSamples(classes: classes,
                              samples: entries.map { Sample(path: $0.path, classIndex: indices[$0.label]!) })
    }
}
