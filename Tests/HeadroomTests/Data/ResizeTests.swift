import Headroom
import Testing

@Suite("Resize output size")
struct ResizeTests {
    @Test("the shorter side becomes N and the longer is truncated, as _compute_resized_output_size", arguments: [
        (ImageSize(width: 500, height: 375), ImageSize(width: 341, height: 256)),  // int(341.33)
        (ImageSize(width: 333, height: 500), ImageSize(width: 256, height: 384)),  // int(384.38)
        (ImageSize(width: 300, height: 300), ImageSize(width: 256, height: 256)),
        (ImageSize(width: 100, height: 60), ImageSize(width: 426, height: 256)),   // upscaling too: int(426.67)
    ])
    func shorterSide(input: ImageSize, expected: ImageSize) {
        #expect(Resize(.shorterSide(256)).outputSize(for: input) == expected)
    }

    @Test("truncation, not rounding: 5 * 3 / 2 = 7.5 gives 7")
    func truncates() {
        #expect(Resize(.shorterSide(5)).outputSize(for: ImageSize(width: 3, height: 2)) == ImageSize(width: 7, height: 5))
    }

    @Test("maxSize caps the longer side and shrinks the shorter to match")
    func maxSize() {
        let resize = Resize(.shorterSide(50), maxSize: 200)
        #expect(resize.outputSize(for: ImageSize(width: 1000, height: 100)) == ImageSize(width: 200, height: 20))
        #expect(resize.outputSize(for: ImageSize(width: 100, height: 150)) == ImageSize(width: 50, height: 75))
    }

    @Test("an explicit size is taken as is, and decoding may scale down to it")
    func explicitSize() {
        let size = ImageSize(width: 320, height: 200)
        let resize = Resize(.size(size))
        #expect(resize.outputSize(for: ImageSize(width: 1000, height: 1000)) == size)
        #expect(resize.minimumDecodeSize == .size(size))
        #expect(Resize(.shorterSide(256)).minimumDecodeSize == .shorterSide(256))
    }
}
