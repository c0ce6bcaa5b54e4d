public import Torch

/// How one image becomes a `resolution`² tensor (uint8 photos, float32 samples): torchvision's training recipe
/// (RandomResizedCrop + RandomHorizontalFlip) or its evaluation one (Resize to
/// resolution/0.875, CenterCrop), on uint8, with the JPEG decoded at the smallest DCT scale
/// that the crop still needs, and in training only the crop's rows and columns.
public enum SampleTransform: Sendable, Equatable {
    case training(RandomResizedCrop)
    case evaluation(cropFraction: Double)

    public static let standardTraining = SampleTransform.training(RandomResizedCrop())
    public static let standardEvaluation = SampleTransform.evaluation(cropFraction: 0.875)

    /// The shorter side evaluation resizes to before cropping `resolution`: torchvision's
    /// `int(crop / fraction)`, nudged so that a fraction made from a resize size (224 / 232)
    /// gives that size back, not one less.
    public static func resizeSize(resolution: Int, cropFraction: Double) -> Int {
        Int(Double(resolution) / cropFraction + 1e-9)
    }

    /// Decodes the file and transforms it into a [bands, resolution, resolution] tensor: uint8
    /// for photos, float32 for full-precision samples (`decoder.input` says which). Random
    /// choices come from `random`, the sample's own stream.
    public func apply(
        toFileAt path: String, resolution: Int, decoder: ImageDecoder, random: inout DeterministicRandom
    ) throws -> Tensor {
        if decoder.input.reading == .slide {
            let region = try applyToSlide(at: path, resolution: resolution, reading: decoder.input.slide ?? SlideReading(), random: &random)
            return try decoder.input.selectingBands(of: region).select(dim: 0, index: 0)
        }
        let image = EncodedImage(bytes: try decoder.readFile(atPath: path), path: path, decoder: decoder)
        switch self {
        case let .training(crop):
            let full = try image.fullSize()
            let box = crop.box(for: full, using: &random)
            // Decode only as large as keeps the crop at least `resolution` on its shorter side.
            let shorter = max(1, min(box.width, box.height))
            let scale = Double(resolution) / Double(shorter)
            let needed = ImageSize(
                width: Int((Double(full.width) * scale).rounded(.up)), height: Int((Double(full.height) * scale).rounded(.up)))
            // Only the box is decoded (a JPEG skips the rest); the box in the decoded image's coordinates.
            let region = try image.decode(minimumSize: scale < 1 ? .size(needed) : .fullResolution) { decoded in
                let sx = Double(decoded.width) / Double(full.width)
                let sy = Double(decoded.height) / Double(full.height)
                let left = min(decoded.width - 1, Int(Double(box.left) * sx))
                let top = min(decoded.height - 1, Int(Double(box.top) * sy))
                let width = max(1, min(decoded.width - left, Int((Double(box.width) * sx).rounded())))
                let height = max(1, min(decoded.height - top, Int((Double(box.height) * sy).rounded())))
                return CropBox(top: top, left: left, height: height, width: width)
            }
            var output = try region.interpolateBilinear(size: (resolution, resolution), antialias: true)
            if random.nextUnitInterval() < 0.5 { output = try output.flipped([3]) }
            return try output.select(dim: 0, index: 0)
        case let .evaluation(cropFraction):
            let resizeTo = Self.resizeSize(resolution: resolution, cropFraction: cropFraction)
            let whole = try image.decode(minimumSize: .shorterSide(resizeTo)) { CropBox(top: 0, left: 0, height: $0.height, width: $0.width) }
            let decoded = ImageSize(width: whole.shape[3], height: whole.shape[2])
            let size = Resize(.shorterSide(resizeTo)).outputSize(for: decoded)
            // A 1×60000 PNG of 197 bytes would become 256×15,360,000 (11 GiB) here: the
            // resized image is held to the decoder's pixel limit like a decoded one.
            if let limit = decoder.pixelLimit, size.width.multipliedReportingOverflow(by: size.height).partialValue > limit {
                throw ImageDecodeError(
                    path: path, kind: .tooManyPixels,
                    detail: "its aspect ratio (\(decoded.width)×\(decoded.height)) would need a \(size.width)×\(size.height) resize "
                        + "for \(resolution) px, more than the \(limit)-pixel limit")
            }
            let resized = try whole.interpolateBilinear(size: (size.height, size.width), antialias: true)
            let box = CenterCrop(resolution).box(for: size)
            return try resized.slice(dim: 2, box.top..<(box.top + box.height)).slice(dim: 3, box.left..<(box.left + box.width))
                .select(dim: 0, index: 0)
        }
    }
}

/// One file's bytes and the decoder that reads them as the set's format says.
struct EncodedImage {
    let bytes: [UInt8]
    let path: String
    let decoder: ImageDecoder

    /// The image's full size: as shown (EXIF orientation applied) for photos, as stored for samples.
    func fullSize() throws -> ImageSize {
        switch decoder.input.reading {
        case .photo: try decoder.orientedSize(of: bytes, source: path)
        case .samples: try decoder.facts(of: bytes, source: path).size
        case .slide: throw Self.slideInMemory(path)
        }
    }

    /// [1, bands, h, w] pixels of the box `region` picks in the decoded image: uint8 photos decoded
    /// at the smallest DCT scale that meets `minimumSize`, or float32 samples at full resolution.
    func decode(minimumSize: ImageDecoder.MinimumSize, region: (ImageSize) -> CropBox) throws -> Tensor {
        let format = decoder.input
        switch format.reading {
        case .samples:
            return try decoder.decodeSamples(bytes, source: path, format: format, region: region)
        case .slide:
            throw Self.slideInMemory(path)
        case .photo:
            var pixels = try decoder.decodeTensor(bytes, source: path, minimumSize: minimumSize, region: region)
            if format.fileBands == 1 {
                // A grey set's one band (a colour photo among them is refused, not read as its red).
                let facts = try decoder.facts(of: bytes, source: path)
                guard facts.isGrey else { throw decoder.bandMismatch(facts, source: path, format: format) }
                pixels = try pixels.slice(dim: 1, 0..<1)
            }
            return try format.selectingBands(of: pixels)
        }
    }

    /// Slides are read region by region from their files (WholeSlide), never decoded whole from memory.
    static func slideInMemory(_ path: String) -> ImageDecodeError {
        ImageDecodeError(path: path, kind: .unsupportedFormat, detail: "a whole slide is read through OpenSlide, region by region")
    }
}
