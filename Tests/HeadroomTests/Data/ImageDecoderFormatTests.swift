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
