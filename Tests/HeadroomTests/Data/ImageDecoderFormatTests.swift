import Headroom
import Testing

@Suite("WebP, TIFF and BMP against Pillow")
struct ImageDecoderFormatTests {
    let decoder = ImageDecoder()

    @Test("lossless WebP, TIFF and BMP decode to Pillow's exact RGB bytes", arguments: [
        "webp-lossless.webp", "webp-lossless-rgba.webp", "webp-lossless-gray.webp", "webp-exif-orientation-6.webp",
        "tiff-rgb.tif", "tiff-rgb-lzw.tif", "tiff-rgba-deflate.tif", "tiff-gray-packbits.tif", "tiff-palette.tif",
        "tiff-bilevel-group4.tif", "tiff-orientation-6.tif", "tiff-gray16.tif",
        "bmp-rgb24.bmp", "bmp-rgba32.bmp", "bmp-palette8.bmp", "bmp-gray8.bmp", "bmp-bilevel1.bmp",
        "bmp-top-down.bmp", "bmp-bgrx32.bmp",
    ])
    func losslessMatchesPillow(name: String) throws {
        try expectExactlyPillows(name, decoder: decoder)
    }

    @Test("lossy WebP decodes within rounding of Pillow's pixels", arguments: ["webp-lossy.webp", "webp-lossy-alpha.webp"])
    func lossyWebPMatchesPillow(name: String) throws {
        try expectWithinRoundingOfPillow(name, decoder: decoder)
    }

    @Test("the orientation tag of WebP and TIFF is applied, or kept when told to ignore it", arguments: [
        "webp-exif-orientation-6.webp", "tiff-orientation-6.tif",
    ])
    func orientation(name: String) throws {
        let path = ImageFixtures.path(name)
        let oriented = try decoder.decode(fileAtPath: path)
        let stored = try ImageDecoder(appliesOrientation: false).decode(fileAtPath: path)
        #expect(stored.size == ImageSize(width: 32, height: 24))
        #expect(oriented.size == ImageSize(width: 24, height: 32))
        // Orientation 6 is undone by a quarter turn clockwise: the stored bottom-left pixel comes out top-left.
        #expect(oriented[0, 0] == stored[0, stored.height - 1])
        #expect(oriented[oriented.width - 1, 0] == stored[0, 0])
    }

    @Test("the header size is read without decoding, for every format", arguments: [
        ("webp-lossy.webp", 32, 24), ("tiff-orientation-6.tif", 24, 32), ("bmp-top-down.bmp", 32, 24),
    ])
    func headerSize(name: String, width: Int, height: Int) throws {
        let bytes = try ImageFixtures.bytes(name)
        #expect(try decoder.orientedSize(of: bytes, source: name) == ImageSize(width: width, height: height))
    }

    @Test("only JPEG scales in the DCT; other formats decode at full resolution whatever the minimum", arguments: [
        "webp-lossless.webp", "tiff-rgb.tif", "bmp-rgb24.bmp",
    ])
    func fullResolution(name: String) throws {
        let image = try decoder.decode(fileAtPath: ImageFixtures.path(name), minimumSize: .shorterSide(4))
        #expect(image.size == ImageSize(width: 32, height: 24))
    }
}

/// Uncompressed tiled TIFFs whose tile is not a multiple of 1024 bytes (16×16 RGB is 768,
/// 16×16 grey 256): libtiff writes them, tifffile writes them, PIL reads them. libtiff 4.5
/// refused them when reading without a memory map ("Invalid tile byte count … Expected 768,
/// got 1024"); the files are built here, byte by byte.
@Suite struct SmallTileTIFFTests {
    /// A little-endian TIFF, one IFD, uncompressed, tiled 16×16, contiguous samples.
    static func tiledTIFF(width: Int, height: Int, samples: Int, pixel: (Int, Int, Int) -> UInt8) -> [UInt8] {
        let tile = 16
        let across = (width + tile - 1) / tile, down = (height + tile - 1) / tile
        var tiles: [[UInt8]] = []
        for ty in 0..<down {
            for tx in 0..<across {
                var bytes: [UInt8] = []
                for y in 0..<tile {
                    for x in 0..<tile {
                        for s in 0..<samples {
                            let (px, py) = (tx * tile + x, ty * tile + y)
                            bytes.append(px < width && py < height ? pixel(px, py, s) : 0)  // tiles are padded whole
                        }
                    }
                }
                tiles.append(bytes)
            }
        }
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16 & 0xFFFF) }
        let entryCount = 11
        let ifdOffset = 8
        let extra = ifdOffset + 2 + entryCount * 12 + 4  // where out-of-line values start
        let bitsOffset = extra, offsetsOffset = bitsOffset + 2 * samples, countsOffset = offsetsOffset + 4 * tiles.count
        let dataOffset = countsOffset + 4 * tiles.count
        var entries: [(tag: Int, type: Int, count: Int, value: [UInt8])] = [
            (256, 4, 1, le32(width)), (257, 4, 1, le32(height)),
            (258, 3, samples, samples == 1 ? le16(8) + le16(0) : le32(bitsOffset)),
            (259, 3, 1, le16(1) + le16(0)), (262, 3, 1, le16(samples == 1 ? 1 : 2) + le16(0)),
            (277, 3, 1, le16(samples) + le16(0)), (284, 3, 1, le16(1) + le16(0)),
            (322, 3, 1, le16(tile) + le16(0)), (323, 3, 1, le16(tile) + le16(0)),
            (324, 4, tiles.count, tiles.count == 1 ? le32(dataOffset) : le32(offsetsOffset)),
            (325, 4, tiles.count, tiles.count == 1 ? le32(tiles[0].count) : le32(countsOffset)),
        ]
        entries.sort { $0.tag < $1.tag }
        var file: [UInt8] = [0x49, 0x49, 42, 0] + le32(ifdOffset) + le16(entryCount)
        for entry in entries { file += le16(entry.tag) + le16(entry.type) + le32(entry.count) + entry.value }
        file += le32(0)
        file += (0..<samples).flatMap { _ in le16(8) }
        file += tiles.indices.flatMap { le32(dataOffset + $0 * tiles[0].count) }
        file += tiles.flatMap { le32($0.count) }
        precondition(file.count == dataOffset, "the layout above is off")
        return file + tiles.joined()
    }

    @Test(arguments: [(16, 16, 3), (48, 48, 3), (16, 16, 1), (40, 24, 3)])
    func tilesOfAnySizeDecodeExactly(width: Int, height: Int, samples: Int) throws {
        let value = { (x: Int, y: Int, s: Int) in UInt8((x * 7 + y * 13 + s * 101) % 256) }
        let bytes = Self.tiledTIFF(width: width, height: height, samples: samples, pixel: value)
        let image = try ImageDecoder().decode(bytes, source: "tiled.tif")
        #expect(image.width == width && image.height == height)
        var expected: [UInt8] = []
        for y in 0..<height { for x in 0..<width { for c in 0..<3 { expected.append(value(x, y, samples == 1 ? 0 : c)) } } }
        #expect(image.pixels == expected)
    }

    /// The same file cut short in its tile data is still told apart as truncated.
    @Test func aTiledTIFFCutShortIsTruncated() throws {
        let bytes = Self.tiledTIFF(width: 48, height: 48, samples: 3) { x, y, _ in UInt8((x + y) % 256) }
        do {
            _ = try ImageDecoder().decode(Array(bytes.prefix(bytes.count - 500)), source: "cut.tif")
            Issue.record("a cut TIFF decoded")
        } catch {
            #expect(error.kind == .truncated, "\(error)")
        }
    }
}
