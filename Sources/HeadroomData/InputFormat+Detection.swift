extension InputFormat {
    /// Agrees the set's format from the headers of up to `sampleCount` files spread evenly over
    /// it (a file the loader meets later that disagrees is a counted bad sample naming both).
    /// Unreadable files are left to training, which counts them. `selection`: `--bands`, 0-based.
    /// Whole slides (a vendor format, or a TIFF OpenSlide reads as a pyramid) make a slide set,
    /// read as `slide` says (level 0 when nil); `slide` given for a set of other images is refused.
    public static func detect(
        _ samples: LabeledSamples, decoder: ImageDecoder, selection: [Int]? = nil, slide: SlideReading? = nil, sampleCount: Int = 256
    ) throws(InputFormatError) -> InputFormat {
        let paths = samples.samples.map(\.path)
        let stride = max(1, paths.count / max(1, sampleCount))
        let sampled = Swift.stride(from: 0, to: paths.count, by: stride).prefix(sampleCount).map { paths[$0] }
        let slides = sampled.filter { SlideFiles.isSlide($0, slideOptionsGiven: slide != nil) }
        if let first = slides.first {
            // Among slides, a TIFF OpenSlide does not read is a broken slide, left to training to
            // count; a readable image of another kind is a mixed set.
            let slideSet = Set(slides)
            let others = sampled.filter { !slideSet.contains($0) && !SlideFiles.mayBeSlide($0) }
            if let image = others.first(where: { (try? decoder.facts(atPath: $0)) != nil }) { throw .slidesAndImages(slide: first, image: image) }
            let reading = slide ?? SlideReading()
            if let problem = SlideFiles.openSlideProblem { throw .slideView(ImageDecodeError(path: first, kind: .needsOpenSlide, detail: problem)) }
            for path in slides {
                // A view the slide cannot give is a setup error, not a bad sample per region.
                guard let opened = try? OpenSlides.shared.open(path) else { continue }
                do { _ = try opened.slide.geometry(for: reading.view) } catch { throw .slideView(error) }
            }
            return try InputFormat.slides(reading, example: first).selecting(selection)
        }
        if slide != nil, let example = sampled.first { throw .notSlides(example: example) }
        var read: [(path: String, facts: ImageFacts)] = []
        for path in sampled {
            if let facts = try? decoder.facts(atPath: path) { read.append((path, facts)) }
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
    case slidesAndImages(slide: String, image: String)
    case notSlides(example: String)
    case slideView(ImageDecodeError)

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
        case let .slidesAndImages(slide, image):
            "the set mixes whole slides (\(PathNames.display(slide))) with other images (\(PathNames.display(image))); "
                + "train on one kind, or cut the slides into tiles first"
        case let .notSlides(example):
            "--slide-level, --slide-mpp, --slide-regions, --no-tissue-mask and --slide-eval are for whole slides, and OpenSlide reads none in the set "
                + "(\(PathNames.display(example)), for one)\(SlideFiles.openSlideProblem.map { "; \($0)" } ?? "")"
        case let .slideView(error):
            error.description
        }
    }
}
