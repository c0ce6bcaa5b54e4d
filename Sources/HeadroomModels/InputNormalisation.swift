import Foundation

/// How the network's input is normalised, per band: (x − mean) / std, where x is the value the
/// loader hands over — 0…255 for 8-bit photos, the stored value for deeper samples, the
/// modality value (Hounsfield units for CT) for DICOM. Saved with the run and in exports, so
/// `predict` and `evaluate` feed a model what it was trained on.
public struct InputNormalisation: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Source: String, Sendable, Hashable, Codable {
        /// ImageNet's statistics (torchvision's), for RGB photos and the weights trained on them.
        case imagenet
        /// Measured on a sample of the training set.
        case data
        /// Given on the command line.
        case given
    }

    public var mean: [Double]
    public var std: [Double]
    public var source: Source
    /// The training images the statistics were measured on (`data` only).
    public var sampledImages: Int?

    public init(mean: [Double], std: [Double], source: Source, sampledImages: Int? = nil) {
        precondition(mean.count == std.count && !mean.isEmpty, "a mean and a std per band")
        self.mean = mean
        self.std = std
        self.source = source
        self.sampledImages = sampledImages
    }

    /// ImageNet's channel statistics as torchvision writes them, in [0, 1] units.
    public static let imageNetMean: [Double] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Double] = [0.229, 0.224, 0.225]

    /// ImageNet's mean and std in the loader's 0…255 units: what RGB photos are normalised with.
    public static let imageNet = InputNormalisation(
        mean: imageNetMean.map { $0 * 255 }, std: imageNetStd.map { $0 * 255 }, source: .imagenet)

    public var bands: Int { mean.count }

    public var description: String {
        func list(_ values: [Double]) -> String { values.map { String(format: "%.6g", $0) }.joined(separator: ", ") }
        if source == .imagenet {
            // In the units torchvision's users know them in.
            return "ImageNet's mean (\(list(mean.map { $0 / 255 }))) and std (\(list(std.map { $0 / 255 }))) on pixels / 255"
        }
        let origin = switch source {
        case .imagenet: "ImageNet's"
        case .data: "measured on \(sampledImages ?? 0) training image\(sampledImages == 1 ? "" : "s")"
        case .given: "given"
        }
        return "mean (\(list(mean))) and std (\(list(std))), \(origin)"
    }
}
