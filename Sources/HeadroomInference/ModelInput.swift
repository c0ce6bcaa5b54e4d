public import HeadroomData
public import HeadroomModels
import Foundation

/// What a trained network takes: how its images are read (bands, their order, sample type)
/// and how they are normalised. Saved in every checkpoint and export (`headroom.input`,
/// `headroom.normalization`), so that `predict`, `evaluate` and an ONNX runtime feed a model
/// what it was trained on.
public struct ModelInput: Sendable, Hashable, Codable {
    public var format: InputFormat
    public var normalisation: InputNormalisation

    public init(format: InputFormat, normalisation: InputNormalisation) {
        var format = format
        format.example = nil  // a path of the training machine, not part of the contract
        self.format = format
        self.normalisation = normalisation
    }

    /// 8-bit RGB with ImageNet's statistics: every file from before inputs were recorded.
    public static let imageNetRGB = ModelInput(format: .rgb, normalisation: .imageNet)

    public enum MetadataKey {
        /// The format as JSON: {"reading": "samples", "fileBands": 13, "selection": [3, 2, 1], "sampleType": "uint16"}.
        public static let input = "headroom.input"
    }

    /// The metadata entries: `headroom.input`, and `headroom.normalization` in the units a
    /// PyTorch user applies it in — [0, 1] pixels for 8-bit photos (ImageNet's read exactly as
    /// torchvision writes them), the stored or modality values otherwise.
    public var metadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var entries: [String: String] = [:]
        if let data = try? encoder.encode(format) { entries[MetadataKey.input] = String(decoding: data, as: UTF8.self) }
        entries[ModelFile.MetadataKey.normalization] = normalisationText
        return entries
    }

    private var normalisationText: String {
        if normalisation.source == .imagenet && normalisation.bands == 3 && format.reading == .photo {
            let mean = InputNormalisation.imageNetMean.map { "\($0)" }.joined(separator: ", ")
            let std = InputNormalisation.imageNetStd.map { "\($0)" }.joined(separator: ", ")
            return #"{"mean": [\#(mean)], "std": [\#(std)]}"#
        }
        let scale = format.reading == .photo ? 255.0 : 1.0
        func list(_ values: [Double]) -> String { values.map { "\($0 / scale)" }.joined(separator: ", ") }
        let units = format.reading == .photo ? "pixel / 255" : "stored value"
        let images = normalisation.sampledImages.map { #", "sampled_images": \#($0)"# } ?? ""
        return #"{"mean": [\#(list(normalisation.mean))], "std": [\#(list(normalisation.std))], "units": "\#(units)", "source": "\#(normalisation.source.rawValue)"\#(images)}"#
    }

    /// Reads the entries back; a file without them (saved before inputs were recorded, or by
    /// another tool) is 8-bit RGB with ImageNet's statistics when its conv1 takes 3 bands.
    public init(metadata: [String: String], inputBands: Int, path: String) throws(ClassifierError) {
        guard let text = metadata[MetadataKey.input] else {
            guard inputBands == 3 else { throw .missingInput(path: path, bands: inputBands) }
            self = .imageNetRGB
            return
        }
        struct Normalization: Decodable {
            var mean: [Double]
            var std: [Double]
            var source: InputNormalisation.Source?
            var sampled_images: Int?
        }
        guard let format = try? JSONDecoder().decode(InputFormat.self, from: Data(text.utf8)),
            let normalizationText = metadata[ModelFile.MetadataKey.normalization],
            let stored = try? JSONDecoder().decode(Normalization.self, from: Data(normalizationText.utf8)),
            stored.mean.count == format.bands, stored.std.count == format.bands, format.bands == inputBands
        else {
            throw .badInput(path: path, text: text, bands: inputBands)
        }
        let scale = format.reading == .photo ? 255.0 : 1.0
        // ImageNet's statistics are written as torchvision writes them, without a source.
        let isImageNet = format.reading == .photo && stored.mean == InputNormalisation.imageNetMean && stored.std == InputNormalisation.imageNetStd
        self.init(
            format: format,
            normalisation: isImageNet
                ? .imageNet
                : InputNormalisation(
                    mean: stored.mean.map { $0 * scale }, std: stored.std.map { $0 * scale }, source: stored.source ?? .given,
                    sampledImages: stored.sampled_images))
    }
}
