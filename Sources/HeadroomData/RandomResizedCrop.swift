#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The box torchvision's `RandomResizedCrop.get_params` picks, drawn from a `DeterministicRandom`.
///
/// The logic is torchvision's step for step — ten attempts at an area fraction uniform in `scale`
/// and a log-uniform aspect ratio, then a centred fallback clamped to `ratio` — and the draws come
/// in the same order. The numbers differ from PyTorch's, whose generator this is not, and the
/// arithmetic is in double precision where torchvision's log and exp are float32.
public struct RandomResizedCrop: Sendable, Hashable {
    public static let attempts = 10

    /// The range of the crop's area as a fraction of the image's.
    public var scale: ClosedRange<Double>
    /// The range of the crop's aspect ratio, width over height.
    public var ratio: ClosedRange<Double>

    public init(scale: ClosedRange<Double> = 0.08 ... 1.0, ratio: ClosedRange<Double> = (3.0 / 4.0) ... (4.0 / 3.0)) {
        precondition(scale.lowerBound > 0, "scale must be positive")
        precondition(ratio.lowerBound > 0, "ratio must be positive")
        self.scale = scale
        self.ratio = ratio
    }

    /// The crop for an image of `size`.
    public func box(for size: ImageSize, using generator: inout DeterministicRandom) -> CropBox {
        let (width, height) = (size.width, size.height)
        let area = Double(width * height)
        let logRatio = (log(ratio.lowerBound), log(ratio.upperBound))
        for _ in 0 ..< Self.attempts {
            let targetArea = area * generator.nextUniform(from: scale.lowerBound, to: scale.upperBound)
            let aspectRatio = exp(generator.nextUniform(from: logRatio.0, to: logRatio.1))
            let w = roundedToInt((targetArea * aspectRatio).squareRoot())
            let h = roundedToInt((targetArea / aspectRatio).squareRoot())
            if 0 < w && w <= width && 0 < h && h <= height {
                let top = generator.nextInt(below: height - h + 1)
                let left = generator.nextInt(below: width - w + 1)
                return CropBox(top: top, left: left, height: h, width: w)
            }
        }
        return fallbackBox(for: size)
    }

    /// torchvision's "central crop" after ten misses: the largest centred box within `ratio`.
    func fallbackBox(for size: ImageSize) -> CropBox {
        let (width, height) = (size.width, size.height)
        let inputRatio = Double(width) / Double(height)
        let (w, h): (Int, Int)
        if inputRatio < ratio.lowerBound {
            (w, h) = (width, roundedToInt(Double(width) / ratio.lowerBound))
        } else if inputRatio > ratio.upperBound {
            (w, h) = (roundedToInt(Double(height) * ratio.upperBound), height)
        } else {
            (w, h) = (width, height)
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }
}

/// Python's `int(round(x))`: halves go to the even neighbour.
func roundedToInt(_ value: Double) -> Int {
    Int(value.rounded(.toNearestOrEven))
}
