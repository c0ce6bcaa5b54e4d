public import Torch

/// How one image becomes a `resolution`² uint8 tensor: torchvision's training recipe
/// (RandomResizedCrop + RandomHorizontalFlip) or its evaluation one (Resize to
/// resolution/0.875, CenterCrop), on uint8, with the JPEG decoded at the smallest DCT scale
/// that the crop still needs, and in training only the crop's rows and columns.
public enum SampleTransform: Sendable, Equatable {
    case training(RandomResizedCrop)
    case evaluation(cropFraction: Double)

    public static let standardTraining = SampleTransform.training(RandomResizedCrop())
    public static let standardEvaluation = SampleTransform.evaluation(cropFraction: 0.875)

    /// Decodes the file and transforms it into a [3, resolution, resolution] uint8 tensor.
    /// Random choices come from `random`, the sample's own stream.
    public func apply(
        toFileAt path: String, resolution: Int, decoder: ImageDecoder, random: inout DeterministicRandom
    ) throws -> Tensor {
        let bytes = try decoder.readFile(atPath: path)
        switch self {
        case let .training(crop):
            let full = try decoder.orientedSize(of: bytes, source: path)
            let box = crop.box(for: full, using: &random)
            // Decode only as large as keeps the crop at least `resolution` on its shorter side.
            let shorter = max(1, min(box.width, box.height))
            let scale = Double(resolution) / Double(shorter)
            let needed = ImageSize(
                width: Int((Double(full.width) * scale).rounded(.up)), height: Int((Double(full.height) * scale).rounded(.up)))
            // Only the box is decoded (a JPEG skips the rest); the box in the decoded image's coordinates.
            let region = try decoder.decodeTensor(bytes, source: path, minimumSize: scale < 1 ? .size(needed) : .fullResolution) { decoded in
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
            let resizeTo = Int(Double(resolution) / cropFraction)
            let image = try decoder.decodeTensor(bytes, source: path, minimumSize: .shorterSide(resizeTo))
            let decoded = ImageSize(width: image.shape[3], height: image.shape[2])
            let size = Resize(.shorterSide(resizeTo)).outputSize(for: decoded)
            // A 1×60000 PNG of 197 bytes would become 256×15,360,000 (11 GiB) here: the
            // resized image is held to the decoder's pixel limit like a decoded one.
            if let limit = decoder.pixelLimit, size.width.multipliedReportingOverflow(by: size.height).partialValue > limit {
                throw ImageDecodeError(
                    path: path, kind: .tooManyPixels,
                    detail: "its aspect ratio (\(decoded.width)×\(decoded.height)) would need a \(size.width)×\(size.height) resize "
                        + "for \(resolution) px, more than the \(limit)-pixel limit")
            }
            let resized = try image.interpolateBilinear(size: (size.height, size.width), antialias: true)
            let box = CenterCrop(resolution).box(for: size)
            return try resized.slice(dim: 2, box.top..<(box.top + box.height)).slice(dim: 3, box.left..<(box.left + box.width))
                .select(dim: 0, index: 0)
        }
    }
}
