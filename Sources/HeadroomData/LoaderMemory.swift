public import Torch

/// The host memory the loader holds: its prefetched batches, and what each worker holds while
/// it decodes one image (the file's bytes, its decoded pixels and the codec's buffers),
/// estimated from the largest of a sample of the data set's headers. `plan` prints it beside
/// the device plan, and a CPU budget reserves all of it, so that large images and many
/// workers do not take the machine's memory by surprise.
public struct LoaderMemory: Sendable, Equatable, Encodable {
    /// Uint8 batches queued ahead of training, at the largest resolution.
    public var prefetchedBytes: Int
    /// What one worker holds at most while decoding the largest sampled image.
    public var decodeBytesPerWorker: Int
    public var workers: Int
    /// The headers read, and the largest image among them (full resolution, as shown).
    public var sampledImages: Int
    public var largestImage: ImageSize?

    /// What every worker together holds while decoding.
    public var decodingBytes: Int { workers * decodeBytesPerWorker }
    public var totalBytes: Int { prefetchedBytes + decodingBytes }

    /// Reads the headers of up to `sampleCount` training images, spread evenly over the set.
    /// A worker decodes a JPEG at the DCT scale whose shorter side still serves `resolution`
    /// twice over (the finest a training crop of the whole image can ask for), and any other
    /// format at full resolution; unreadable files are skipped, as training counts them.
    public static func estimate(
        samples: LabeledSamples, batchSize: Int, resolution: Int, workers: Int, decoder: ImageDecoder = ImageDecoder(),
        batchType: DType? = nil, sampleCount: Int = 64
    ) -> LoaderMemory {
        let paths = samples.samples.map(\.path)
        let stride = max(1, paths.count / max(1, sampleCount))
        var perWorker = 0
        var largest: ImageSize?
        var read = 0
        for path in Swift.stride(from: 0, to: paths.count, by: stride).prefix(sampleCount).map({ paths[$0] }) {
            guard let (full, bytes) = decodingFacts(path, decoder: decoder, resolution: resolution) else { continue }
            read += 1
            if full.width * full.height > (largest.map { $0.width * $0.height } ?? 0) { largest = full }
            perWorker = max(perWorker, bytes)
        }
        return LoaderMemory(
            prefetchedBytes: BatchLoader.queuedBytes(count: batchSize, resolution: resolution, format: decoder.input, type: batchType),
            decodeBytesPerWorker: perWorker,
            workers: workers, sampledImages: read, largestImage: largest)
    }

    /// An image's full size and what decoding it holds: a photo's from its header plan; full-depth
    /// samples are decoded whole at worst, as float32 (the file, the samples, and the alpha-free
    /// or selected copy beside them).
    private static func decodingFacts(_ path: String, decoder: ImageDecoder, resolution: Int) -> (ImageSize, Int)? {
        switch decoder.input.reading {
        case .photo:
            guard let facts = try? decoder.headerFacts(atPath: path, minimumSize: .shorterSide(2 * resolution)) else { return nil }
            return (facts.orientedSize, facts.decodingBytes)
        case .samples:
            guard let bytes = try? decoder.readFile(atPath: path), let facts = try? decoder.facts(of: bytes, source: path) else { return nil }
            return (facts.size, bytes.count + 2 * facts.size.pixelCount * facts.bands * MemoryLayout<Float>.size)
        case .slide:
            // A region at the level (up to twice the view's side when the level is finer), its
            // resized copy, and OpenSlide's band of ARGB; the tile cache is OpenSlide's own.
            guard let slide = try? WholeSlide(path: path), let geometry = try? slide.geometry(for: decoder.input.slide?.view ?? .level(0))
            else { return nil }
            let levelSide = Int((Double(resolution) * geometry.downsample / slide.levels[geometry.level].downsample).rounded(.up)) + 1
            return (geometry.size, 3 * (levelSide * levelSide + resolution * resolution) + (16 << 20))
        }
    }

    enum CodingKeys: String, CodingKey {
        case prefetchedBytes = "prefetched_bytes", decodeBytesPerWorker = "decode_bytes_per_worker", workers
        case sampledImages = "sampled_images", totalBytes = "total_bytes"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(prefetchedBytes, forKey: .prefetchedBytes)
        try container.encode(decodeBytesPerWorker, forKey: .decodeBytesPerWorker)
        try container.encode(workers, forKey: .workers)
        try container.encode(sampledImages, forKey: .sampledImages)
        try container.encode(totalBytes, forKey: .totalBytes)
    }
}
