import Torch

/// The per-band mean and standard deviation of a data set's pixels, as the network would be fed
/// them before normalisation, measured on an even sample of its images (`--normalize data`).
public struct BandStatistics: Sendable, Hashable {
    public var mean: [Double]
    public var std: [Double]
    /// The images measured (unreadable ones are skipped).
    public var images: Int

    /// Decodes up to `sampleCount` images spread evenly over `samples` through `decoder` (the
    /// set's format), each whole or, when larger than `maxPixels`, its centre; pools every pixel
    /// in float64. A band that never varies gets std 1, so it passes through unscaled.
    public static func measure(
        _ samples: LabeledSamples, decoder: ImageDecoder, sampleCount: Int = 64, maxPixels: Int = 1 << 24
    ) throws -> BandStatistics {
        let paths = samples.samples.map(\.path)
        let stride = max(1, paths.count / max(1, sampleCount))
        let bands = decoder.input.bands
        var sum = [Double](repeating: 0, count: bands), squares = sum
        var count = 0.0
        var images = 0
        for index in Swift.stride(from: 0, to: paths.count, by: stride).prefix(sampleCount) {
            guard let pixels = try? pixels(of: paths[index], decoder: decoder, maxPixels: maxPixels) else { continue }
            let values = try pixels.to(dtype: .float64)
            sum = zip(sum, try values.sum(dims: [0, 2, 3]).array(of: Double.self)).map(+)
            squares = zip(squares, try (values * values).sum(dims: [0, 2, 3]).array(of: Double.self)).map(+)
            count += Double(pixels.shape[2] * pixels.shape[3])
            images += 1
        }
        guard images > 0 else { return BandStatistics(mean: Array(repeating: 0, count: bands), std: Array(repeating: 1, count: bands), images: 0) }
        let mean = sum.map { $0 / count }
        let std = zip(squares, mean).map { squares, mean in
            let variance = max(0, squares / count - mean * mean)
            return variance > 0 ? variance.squareRoot() : 1
        }
        return BandStatistics(mean: mean, std: std, images: images)
    }

    /// [1, bands, h, w] of the image at `path` as the network is fed it: the whole image or its
    /// centre (at most `maxPixels`); of a slide, the square at its tissue's centre, at the view,
    /// as large as fits in the slide and `maxPixels` (never its background padding).
    static func pixels(of path: String, decoder: ImageDecoder, maxPixels: Int) throws -> Tensor {
        guard decoder.input.reading == .slide else {
            let image = EncodedImage(bytes: try decoder.readFile(atPath: path), path: path, decoder: decoder)
            return try image.decode(minimumSize: .fullResolution, region: { centre(of: $0, maxPixels: maxPixels) })
        }
        var reading = decoder.input.slide ?? SlideReading()
        reading.evaluation = .center
        let view = try OpenSlides.shared.open(path).slide.geometry(for: reading.view).size
        let side = max(1, min(Int(Double(maxPixels).squareRoot()), view.width, view.height))
        var random = DeterministicRandom(seed: 0)
        let region = try SampleTransform.standardEvaluation.applyToSlide(at: path, resolution: side, reading: reading, random: &random)
        return try decoder.input.selectingBands(of: region)
    }

    /// The whole image, or its centre square-ish box of at most `maxPixels`.
    static func centre(of size: ImageSize, maxPixels: Int) -> CropBox {
        guard size.pixelCount > maxPixels else { return CropBox(top: 0, left: 0, height: size.height, width: size.width) }
        let scale = (Double(maxPixels) / Double(size.pixelCount)).squareRoot()
        let width = max(1, min(size.width, Int(Double(size.width) * scale)))
        let height = max(1, min(size.height, maxPixels / width))
        return CropBox(top: (size.height - height) / 2, left: (size.width - width) / 2, height: height, width: width)
    }
}
