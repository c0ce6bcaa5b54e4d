extension InputFormat {
    /// Agrees the set's format from the headers of up to `sampleCount` files spread evenly over
    /// it (a file the loader meets later that disagrees is a counted bad sample naming both).
    /// Unreadable files are left to training, which counts them. `selection`: `--bands`, 0-based.
    public static func detect(
        _ samples: LabeledSamples, decoder: ImageDecoder, selection: [Int]? = nil, sampleCount: Int = 256
    ) throws(InputFormatError) -> InputFormat {
        let paths = samples.samples.map(\.path)
        let stride = max(1, paths.count / max(1, sampleCount))
        var read: [(path: String, facts: ImageFacts)] = []
        for index in Swift.stride(from: 0, to: paths.count, by: stride).prefix(sampleCount) {
            if let facts = try? decoder.facts(atPath: paths[index]) { read.append((paths[index], facts)) }
        }
        return try agree(read, selection: selection)
    }

    /// The format files with these facts share, or why they share none.
    public static func agree(_ files: [(path: String, facts: ImageFacts)], selection: [Int]? = nil) throws(InputFormatError) -> InputFormat {
        guard let first = files.first else {
            return try InputFormat.rgb.selecting(selection)
        }
        let photos = files.allSatisfy(\.facts.isPhoto)
        let grey = files.allSatisfy(\.facts.isGrey)
        if photos {
            return try InputFormat(reading: .photo, fileBands: grey ? 1 : 3, sampleType: .uint8, example: first.path).selecting(selection)
        }
        // Samples: a marked alpha band is not image; every other band must agree in number.
        var byBands: [Int: String] = [:]
        for file in files where byBands[file.facts.imageBands] == nil { byBands[file.facts.imageBands] = file.path }
        guard byBands.count == 1 else {
            throw .bandsDisagree(examples: byBands.sorted { $0.key < $1.key }.map { (bands: $0.key, path: $0.value) })
        }
        let type = files.dropFirst().reduce(first.facts.sampleType) { $0.widened(with: $1.facts.sampleType) }
        return try InputFormat(reading: .samples, fileBands: first.facts.imageBands, sampleType: type, example: first.path)
            .selecting(selection)
    }

    /// This format with `--bands` applied (0-based indices), checked against the files' bands.
    func selecting(_ selection: [Int]?) throws(InputFormatError) -> InputFormat {
        guard let selection else { return self }
        guard !selection.isEmpty, selection.allSatisfy({ $0 >= 0 && $0 < fileBands }), Set(selection).count == selection.count else {
            throw .badSelection(selection: selection, fileBands: fileBands)
        }
        var format = self
        format.selection = selection == Array(0..<fileBands) ? nil : selection
        return format
    }

    /// `--bands 4,3,2` (1-based, as GDAL and rasterio number bands) as 0-based indices.
    public static func selection(parsing text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int(String($0).filter { $0 != " " }) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return parts.map { $0! - 1 }
    }
}

/// Why a set's images share no format, naming files.
public enum InputFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    case bandsDisagree(examples: [(bands: Int, path: String)])
    case badSelection(selection: [Int], fileBands: Int)

    public static func == (lhs: InputFormatError, rhs: InputFormatError) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    public var description: String {
        switch self {
        case let .bandsDisagree(examples):
            "the images do not have the same number of bands: "
                + examples.map { "\(PathNames.display($0.path)) has \($0.bands)" }.joined(separator: ", ")
                + "; every image of a set must have the same bands (alpha aside)"
        case let .badSelection(selection, fileBands):
            "--bands \(selection.map { String($0 + 1) }.joined(separator: ",")): the images have \(fileBands) band\(fileBands == 1 ? "" : "s"), "
                + "numbered 1 to \(fileBands); name each at most once"
        }
    }
}
