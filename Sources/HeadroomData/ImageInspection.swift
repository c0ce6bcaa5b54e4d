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
    /// A whole slide's pyramid, resolution and tissue, and the region read (nil for other images).
    public var slide: SlideFacts?

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
        return (ImageInspection(path: path, facts: facts, input: reading.input, bands: try statistics(of: samples)), samples)
    }

    /// The largest level read whole when `--level` is given without `--region` (64 Mpx, 192 MiB of RGB).
    public static let largestWholeLevel = 1 << 26

    /// A whole slide's facts, and the samples of `region` ([3, h, w] float32, uint8 values) when
    /// one is asked for: OpenSlide's region, over the slide's background where it is transparent.
    public static func inspectSlide(path: String, region: SlideFacts.Region?, selection: [Int]? = nil) throws -> (inspection: ImageInspection, samples: Tensor?) {
        let slide = try WholeSlide(path: path)
        let mask = try? TissueMask(slide: slide)
        var input = try InputFormat.slides(SlideReading(view: .level(region?.level ?? 0))).selecting(selection)
        input.example = nil
        let full = slide.levels[0].size
        let facts = ImageFacts(format: "slide", size: full, bands: 3, sampleType: .uint8, bitsPerSample: 8, isPhoto: true, isGrey: false)
        var inspection = ImageInspection(path: path, facts: facts, input: input, bands: [], slide: SlideFacts(slide: slide, mask: mask, region: region))
        guard let region else { return (inspection, nil) }
        let pixels = try slide.region(level: region.level, x: region.x, y: region.y, width: region.width, height: region.height)
        let samples = try input.selectingBands(of: pixels).select(dim: 0, index: 0).to(dtype: .float32)
        inspection.bands = try statistics(of: samples)
        return (inspection, samples)
    }

    /// Each band's range, mean and standard deviation, in float64.
    static func statistics(of samples: Tensor) throws -> [Band] {
        let values = try samples.to(dtype: .float64)
        var bands: [Band] = []
        for band in 0..<samples.shape[0] {
            let plane = try values.select(dim: 0, index: band)
            let mean = try plane.mean().item()
            let centred = try plane - mean
            let std = try (centred * centred).mean().item().squareRoot()
            bands.append(Band(min: try plane.min().item(), max: try plane.max().item(), mean: mean, std: std))
        }
        return bands
    }
}
