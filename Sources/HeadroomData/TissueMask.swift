import CImageCodecs

/// Where a slide has tissue, found in its thumbnail as common pathology pipelines find it
/// (CLAM's segmentation, for one): the HSV saturation of each thumbnail pixel against a
/// threshold from Otsu's method, since stained tissue is coloured and glass, background and
/// most pen-free margins are grey or white.
public struct TissueMask: Sendable, Hashable {
    /// The mask's grid; each cell covers `downsample` level-0 pixels a side.
    public let size: ImageSize
    public let downsample: Double
    /// Indices (row * width + column) of the tissue cells, in order.
    public let tissue: [Int32]
    /// The saturation (0–255) above which a cell is tissue.
    public let threshold: Int
    struct Bounds: Sendable, Hashable { var left, top, right, bottom: Int }
    let cellBounds: Bounds?

    /// The longest side a thumbnail is read at (a coarser level is shrunk to it).
    public static let thumbnailSide = 2048
    /// Otsu's threshold is not taken below this: a slide of only glass has no bimodal histogram.
    static let minimumThreshold = 8

    /// The mask of `slide` from its coarsest level, shrunk to at most `thumbnailSide` a side.
    public init(slide: WholeSlide) throws {
        let coarsest = slide.levels.count - 1
        let level = slide.levels[coarsest]
        let shrink = max(1, Double(max(level.size.width, level.size.height)) / Double(Self.thumbnailSide))
        let geometry = shrink > 1 ? slide.geometry(downsample: level.downsample * shrink)
            : SlideGeometry(level: coarsest, downsample: level.downsample, size: level.size)
        let thumbnail = try slide.read(CropBox(top: 0, left: 0, height: geometry.size.height, width: geometry.size.width), at: geometry)
        let rgb: [UInt8] = try thumbnail.select(dim: 0, index: 0).permuted([1, 2, 0]).contiguous().array()
        self.init(rgb: rgb, size: geometry.size, downsample: geometry.downsample)
    }

    /// The mask of an RGB thumbnail (height × width × 3 bytes) whose pixels span `downsample` level-0 pixels.
    public init(rgb: [UInt8], size: ImageSize, downsample: Double) {
        precondition(rgb.count == size.pixelCount * 3, "the thumbnail holds \(rgb.count) bytes, not \(size.pixelCount) RGB pixels")
        var saturation = [UInt8](repeating: 0, count: size.pixelCount)
        var counts = [UInt64](repeating: 0, count: 256)
        himg_hsv_saturation(rgb, size.pixelCount, &saturation, &counts)
        let histogram = counts.map { Int($0) }
        let threshold = max(Self.minimumThreshold, Self.otsu(histogram))
        self.size = size
        self.downsample = downsample
        self.threshold = threshold
        tissue = [Int32](unsafeUninitializedCapacity: saturation.count) { buffer, initialized in
            initialized = himg_indices_above(saturation, saturation.count, UInt8(min(threshold, 255)), buffer.baseAddress)
        }
        cellBounds = Self.bounds(of: tissue, width: size.width)
    }

    /// The fraction of the slide that is tissue.
    public var tissueFraction: Double { Double(tissue.count) / Double(max(1, size.pixelCount)) }

    /// The tissue's bounding box, in level-0 pixels (nil when there is none).
    public var tissueBounds: (left: Double, top: Double, right: Double, bottom: Double)? {
        cellBounds.map { (Double($0.left) * downsample, Double($0.top) * downsample, Double($0.right) * downsample, Double($0.bottom) * downsample) }
    }

    /// The tissue's bounding box in cells, found once (evaluation asks for it per sample).
    static func bounds(of tissue: [Int32], width: Int) -> Bounds? {
        guard let first = tissue.first, let last = tissue.last else { return nil }
        var left = Int.max, right = 0
        for index in tissue {
            let column = Int(index) % width
            left = min(left, column)
            right = max(right, column + 1)
        }
        return Bounds(left: left, top: Int(first) / width, right: right, bottom: Int(last) / width + 1)
    }

    /// A point in level-0 pixels drawn uniformly over the tissue (nil when there is none).
    public func randomTissuePoint(using random: inout DeterministicRandom) -> (x: Double, y: Double)? {
        guard !tissue.isEmpty else { return nil }
        let index = Int(tissue[random.nextInt(below: tissue.count)])
        let column = Double(index % size.width) + random.nextUnitInterval()
        let row = Double(index / size.width) + random.nextUnitInterval()
        return (column * downsample, row * downsample)
    }

    /// Otsu's method: the level that maximises the between-class variance of the histogram.
    static func otsu(_ histogram: [Int]) -> Int {
        let total = Double(histogram.reduce(0, +))
        guard total > 0 else { return 0 }
        let sum = histogram.enumerated().reduce(0.0) { $0 + Double($1.offset * $1.element) }
        var weightBelow = 0.0, sumBelow = 0.0, best = 0.0, threshold = 0
        for level in 0..<256 {
            weightBelow += Double(histogram[level])
            guard weightBelow > 0 else { continue }
            let weightAbove = total - weightBelow
            guard weightAbove > 0 else { break }
            sumBelow += Double(level * histogram[level])
            let meanBelow = sumBelow / weightBelow, meanAbove = (sum - sumBelow) / weightAbove
            let between = weightBelow * weightAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove)
            if between > best {
                best = between
                threshold = level
            }
        }
        return threshold
    }
}
