import Headroom
import Testing

@Suite("JPEG DCT-domain scaling")
struct JPEGScalingTests {
    let decoder = ImageDecoder()
    let path = ImageFixtures.path("jpeg-64x48.jpg")

    @Test("the smallest of 1/8, 1/4, 1/2 and 1 meeting the minimum is chosen", arguments: [
        // Only the factors with SIMD IDCTs (PIL's draft() scales); sizes round up (TJSCALED).
        (ImageDecoder.MinimumSize.shorterSide(6), ImageSize(width: 8, height: 6)),      // 1/8
        (.shorterSide(7), ImageSize(width: 16, height: 12)),                            // 1/4
        (.shorterSide(12), ImageSize(width: 16, height: 12)),                           // 1/4
        (.shorterSide(13), ImageSize(width: 32, height: 24)),                           // 1/2, not 3/8
        (.shorterSide(24), ImageSize(width: 32, height: 24)),                           // 1/2
        (.shorterSide(25), ImageSize(width: 64, height: 48)),                           // 1, not 5/8
        (.shorterSide(48), ImageSize(width: 64, height: 48)),                           // 1
        (.shorterSide(500), ImageSize(width: 64, height: 48)),                          // never upscaled
        (.size(ImageSize(width: 17, height: 1)), ImageSize(width: 32, height: 24)),     // width decides
        (.size(ImageSize(width: 1, height: 13)), ImageSize(width: 32, height: 24)),     // height decides
        (.size(ImageSize(width: 16, height: 12)), ImageSize(width: 16, height: 12)),    // both exactly met: 1/4
        (.fullResolution, ImageSize(width: 64, height: 48)),
    ])
    func chosenSize(minimum: ImageDecoder.MinimumSize, expected: ImageSize) throws {
        let image = try decoder.decode(fileAtPath: path, minimumSize: minimum)
        #expect(image.size == expected)
    }

    @Test("a 1/4 decode matches Pillow's draft() decode at the same scale")
    func quarterMatchesPillowDraft() throws {
        let quarter = try #require(try ImageFixtures.expected("jpeg-64x48.jpg").quarter)
        let image = try decoder.decode(fileAtPath: path, minimumSize: .shorterSide(12))
        #expect(image.size == ImageSize(width: quarter.width, height: quarter.height))
        let difference = pixelDifference(image.pixels, try ImageFixtures.bytes(quarter.rgb))
        #expect(difference.mean <= 1.0, "mean absolute difference \(difference.mean)")
    }

    @Test("minimum sizes refer to the oriented image")
    func minimumFollowsOrientation() throws {
        // Stored 24x16, shown 16x24 (orientation 6). A shown width of 5 needs 1/2 of the stored height
        // (8 px), where reading it as the stored width would allow 1/4 (6 px).
        let image = try decoder.decode(fileAtPath: ImageFixtures.path("jpeg-orientation-6.jpg"),
                                       minimumSize: .size(ImageSize(width: 5, height: 1)))
        #expect(image.size == ImageSize(width: 8, height: 12))
    }

    @Test("PNGs are never scaled")
    func pngIgnoresMinimum() throws {
        let image = try decoder.decode(fileAtPath: ImageFixtures.path("png-rgb.png"), minimumSize: .shorterSide(2))
        #expect(image.size == ImageSize(width: 32, height: 24))
    }
}
