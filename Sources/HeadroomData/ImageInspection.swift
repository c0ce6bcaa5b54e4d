public import Torch

/// What the network would be fed from one image before normalisation: its facts, the format
/// it reads as on its own, and each band's range, mean and standard deviation (`headroom inspect`).
public struct ImageInspection: Sendable, Codable {
    public struct Band: Sendable, Codable, Hashable {
        public var min: Double
        public var max: Double
        public var mean: Double
        public var std: Double
    }

    public var path: String
    public var facts: ImageFacts
    public var input: InputFormat
    public var bands: [Band]

    /// Decodes the whole image as the loader would read a set of such images (`selection`:
    /// `--bands`, 0-based), and returns the samples, [bands, height, width] float32, beside
    /// the summary.
    public static func inspect(
        path: String, decoder: ImageDecoder, selection: [Int]? = nil
    ) throws -> (inspection: ImageInspection, samples: Tensor) {
        let facts = try decoder.facts(atPath: path)
        var reading = decoder
        reading.input = try InputFormat.agree([(path, facts)], selection: selection)
        reading.input.example = nil
        let image = EncodedImage(bytes: try decoder.readFile(atPath: path), path: path, decoder: reading)
        let pixels = try image.decode(minimumSize: .fullResolution) { CropBox(top: 0, left: 0, height: $0.height, width: $0.width) }
        let samples = try pixels.select(dim: 0, index: 0).to(dtype: .float32)
        let values = try samples.to(dtype: .float64)
        var bands: [Band] = []
        for band in 0..<samples.shape[0] {
            let plane = try values.select(dim: 0, index: band)
            let mean = try plane.mean().item()
            let centred = try plane - mean
            let std = try (centred * centred).mean().item().squareRoot()
            bands.append(Band(min: try plane.min().item(), max: try plane.max().item(), mean: mean, std: std))
        }
        return (ImageInspection(path: path, facts: facts, input: reading.input, bands: bands), samples)
    }
}
