import Headroom
import Testing

@Suite("CenterCrop box")
struct CenterCropTests {
    @Test("offsets are int(round((image - crop) / 2)) with Python's half-to-even rounding", arguments: [
        (ImageSize(width: 256, height: 256), CropBox(top: 16, left: 16, height: 224, width: 224)),
        (ImageSize(width: 255, height: 256), CropBox(top: 16, left: 16, height: 224, width: 224)),  // 15.5 -> 16
        (ImageSize(width: 257, height: 258), CropBox(top: 17, left: 16, height: 224, width: 224)),  // 16.5 -> 16, 17
        (ImageSize(width: 224, height: 300), CropBox(top: 38, left: 0, height: 224, width: 224)),
    ])
    func centred(image: ImageSize, expected: CropBox) {
        #expect(CenterCrop(224).box(for: image) == expected)
    }

    @Test("a crop larger than the image starts before it, by torchvision's left/top padding")
    func padded() {
        // Width 10 -> 8 fits: round(2 / 2) = 1. Height 6 -> 9 pads (9 - 6) // 2 = 1 on top.
        let box = CenterCrop(size: ImageSize(width: 8, height: 9)).box(for: ImageSize(width: 10, height: 6))
        #expect(box == CropBox(top: -1, left: 1, height: 9, width: 8))
        #expect(!box.isInside(ImageSize(width: 10, height: 6)))
    }
}
