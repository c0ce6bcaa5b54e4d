/// Writes a generic pyramidal tiled TIFF, as OpenSlide's generic-tiff driver reads a slide:
/// every level a tiled RGB directory in the main chain, level 0 first, the reduced levels
/// marked NewSubfileType 1; tiles uncompressed, edge tiles padded; the microns per pixel as
/// X/YResolution in pixels per centimetre. For generated slides (`demo-data --slides`, tests).
public enum SlideTIFF {
    /// `levels`: each level's size and its height × width × 3 RGB bytes, finest first.
    public static func encode(levels: [(size: ImageSize, rgb: [UInt8])], tile: Int = 128, micronsPerPixel: Double? = nil) throws -> [UInt8] {
        guard !levels.isEmpty, tile > 0, tile % 16 == 0 else {
            throw SampleTIFF.WriteError.shape("a slide needs at least one level and tiles a multiple of 16 px")
        }
        var tiff = TIFFBuilder()
        for (index, level) in levels.enumerated() {
            let (width, height) = (level.size.width, level.size.height)
            guard width > 0, height > 0, level.rgb.count == width * height * 3 else {
                throw SampleTIFF.WriteError.shape("level \(index) holds \(level.rgb.count) bytes, not \(width)×\(height) RGB")
            }
            var offsets: [UInt32] = []
            var counts: [UInt32] = []
            for top in stride(from: 0, to: height, by: tile) {
                for left in stride(from: 0, to: width, by: tile) {
                    var block = [UInt8](repeating: 255, count: tile * tile * 3)
                    for row in 0..<min(tile, height - top) {
                        let source = ((top + row) * width + left) * 3
                        let count = min(tile, width - left) * 3
                        block.replaceSubrange((row * tile * 3)..<(row * tile * 3 + count), with: level.rgb[source..<(source + count)])
                    }
                    offsets.append(tiff.append(data: block))
                    counts.append(UInt32(block.count))
                }
            }
            var entries: [TIFFBuilder.Entry] = [
                .init(tag: 254, kind: .long, values: [index == 0 ? 0 : 1]),
                .init(tag: 256, kind: .long, values: [UInt32(width)]), .init(tag: 257, kind: .long, values: [UInt32(height)]),
                .init(tag: 258, kind: .short, values: [8, 8, 8]), .init(tag: 259, kind: .short, values: [1]),
                .init(tag: 262, kind: .short, values: [2]), .init(tag: 277, kind: .short, values: [3]),
                .init(tag: 284, kind: .short, values: [1]),
                .init(tag: 322, kind: .long, values: [UInt32(tile)]), .init(tag: 323, kind: .long, values: [UInt32(tile)]),
                .init(tag: 324, kind: .long, values: offsets), .init(tag: 325, kind: .long, values: counts),
            ]
            if let mpp = micronsPerPixel, mpp > 0 {
                // Pixels per centimetre at this level, as a rational with a fixed denominator.
                let downsample = Double(levels[0].size.width) / Double(width)
                let perCentimetre = UInt32((10_000 / (mpp * downsample) * 1000).rounded())
                entries += [
                    .init(tag: 282, kind: .rational, values: [perCentimetre, 1000]), .init(tag: 283, kind: .rational, values: [perCentimetre, 1000]),
                    .init(tag: 296, kind: .short, values: [3]),
                ]
            }
            tiff.appendDirectory(entries)
        }
        return tiff.bytes
    }
}
