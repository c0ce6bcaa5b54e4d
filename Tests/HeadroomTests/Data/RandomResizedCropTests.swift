import Headroom
import Testing

@Suite("RandomResizedCrop parameters")
struct RandomResizedCropTests {
    let crop = RandomResizedCrop()
    let image = ImageSize(width: 640, height: 480)

    func box(seed: UInt64 = 1, epoch: Int = 0, index: Int, size: ImageSize? = nil, crop: RandomResizedCrop? = nil) -> CropBox {
        var random = DeterministicRandom(seed: seed, epoch: epoch, index: index)
        return (crop ?? self.crop).box(for: size ?? image, using: &random)
    }

    @Test("boxes lie inside the image with area and aspect ratio in range")
    func statistics() {
        let boxes = (0 ..< 2_000).map { box(index: $0) }
        let fractions = boxes.map { Double($0.width * $0.height) / Double(image.pixelCount) }
        let ratios = boxes.map { Double($0.width) / Double($0.height) }
        #expect(boxes.allSatisfy { $0.isInside(image) })
        // Rounding each side to whole pixels moves the area and ratio slightly past the bounds.
        #expect(fractions.allSatisfy { $0 >= 0.08 * 0.99 && $0 <= 1.0 })
        #expect(ratios.allSatisfy { $0 >= 0.75 * 0.99 && $0 <= 4.0 / 3.0 * 1.01 })
        #expect(fractions.min()! < 0.1 && fractions.max()! > 0.95, "the scale range should be covered")
        // Large areas are rejected more often than small ones; a Monte Carlo run of torchvision's
        // get_params in Python (200,000 draws) gives a mean area fraction of 0.432 for 640x480.
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(abs(mean - 0.432) < 0.02, "mean area fraction \(mean)")
        let centresX = boxes.map { Double($0.left) + Double($0.width) / 2 }
        #expect(abs(centresX.reduce(0, +) / Double(centresX.count) - 320) < 10, "crops should be centred on average")
    }

    @Test("the same (seed, epoch, index) gives the same box; others differ")
    func determinism() {
        #expect(box(index: 17) == box(index: 17))
        #expect(box(epoch: 4, index: 17) == box(epoch: 4, index: 17))
        let distinct = Set((0 ..< 200).map { box(index: $0) })
        #expect(distinct.count >= 195)
        #expect(box(epoch: 0, index: 17) != box(epoch: 1, index: 17))
        #expect(box(seed: 1, index: 17) != box(seed: 2, index: 17))
    }

    @Test("an unreachable ratio falls back to the centred crop clamped to the ratio")
    func fallbackClampsRatio() {
        let size = ImageSize(width: 64, height: 48)
        // Ratios of 100-200 never fit: the fallback keeps the width and takes round(64 / 100) = 1 row.
        let wide = RandomResizedCrop(ratio: 100 ... 200)
        #expect(box(index: 0, size: size, crop: wide) == CropBox(top: 23, left: 0, height: 1, width: 64))
        // Ratios of 0.01-0.02 never fit either: the full height and round(48 * 0.02) = 1 column.
        let tall = RandomResizedCrop(ratio: 0.01 ... 0.02)
        #expect(box(index: 0, size: size, crop: tall) == CropBox(top: 0, left: 31, height: 48, width: 1))
    }

    @Test("an unreachable scale falls back to the whole image when its ratio is allowed")
    func fallbackWholeImage() {
        let size = ImageSize(width: 64, height: 48)  // exactly 4:3, the upper ratio bound
        let crop = RandomResizedCrop(scale: 2 ... 3)
        #expect(box(index: 3, size: size, crop: crop) == CropBox(top: 0, left: 0, height: 48, width: 64))
    }

    @Test("a one-pixel image yields the one pixel")
    func tinyImage() {
        let size = ImageSize(width: 1, height: 1)
        #expect((0 ..< 20).allSatisfy { box(index: $0, size: size) == CropBox(top: 0, left: 0, height: 1, width: 1) })
    }
}
