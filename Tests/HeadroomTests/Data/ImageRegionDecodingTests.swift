import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData

/// A region decoded on its own (for a JPEG: only its iMCU rows and columns) against the same box
/// of the whole decoded image: equal byte for byte, in every format, orientation and DCT scale.
@Suite("Decoding a region of an image")
struct ImageRegionDecodingTests {
    let decoder = ImageDecoder()

    /// Boxes that reach each edge, start at odd offsets, span the width or are one pixel.
    static func boxes(in size: ImageSize) -> [CropBox] {
        let (w, h) = (size.width, size.height)
        return [
            CropBox(top: 0, left: 0, height: max(1, h / 3), width: max(1, w / 3)),
            CropBox(top: h / 3 + 1, left: w / 4 + 3, height: max(1, h / 2 - 1), width: max(1, w / 2 - 3)),
            CropBox(top: h - max(1, h / 5), left: w - max(1, w / 7), height: max(1, h / 5), width: max(1, w / 7)),
            CropBox(top: h / 2, left: 0, height: max(1, h / 4), width: w),
            CropBox(top: 0, left: w / 2, height: h, width: max(1, w / 5)),
            CropBox(top: h / 2 + 1, left: w / 2 - 1, height: 1, width: 1),
            CropBox(top: 0, left: 0, height: h, width: w - 1),
        ].filter { $0.isInside(size) }
    }

    func expectRegionsMatch(_ bytes: [UInt8], name: String, minimumSize: ImageDecoder.MinimumSize = .fullResolution) throws {
        let whole = try decoder.decodeTensor(bytes, source: name, minimumSize: minimumSize)
        let size = ImageSize(width: whole.shape[3], height: whole.shape[2])
        for box in Self.boxes(in: size) {
            let region = try decoder.decodeTensor(bytes, source: name, minimumSize: minimumSize) { decoded in
                #expect(decoded == size)
                return box
            }
            let expected = try whole.slice(dim: 2, box.top..<(box.top + box.height)).slice(dim: 3, box.left..<(box.left + box.width))
            #expect(region.shape == [1, 3, box.height, box.width], "\(name) \(box)")
            #expect(try region.contiguous().bytes() == expected.contiguous().bytes(), "\(name) at \(size), \(box)")
        }
    }

    @Test("JPEG fixtures: every EXIF orientation, greyscale, progressive, CMYK", arguments: [
        "jpeg-orientation-1.jpg", "jpeg-orientation-2.jpg", "jpeg-orientation-3.jpg", "jpeg-orientation-4.jpg",
        "jpeg-orientation-5.jpg", "jpeg-orientation-6.jpg", "jpeg-orientation-7.jpg", "jpeg-orientation-8.jpg",
        "jpeg-gray.jpg", "jpeg-progressive.jpg", "jpeg-cmyk.jpg", "jpeg-baseline.jpg", "jpeg-64x48.jpg",
    ])
    func jpegFixtures(_ name: String) throws {
        try expectRegionsMatch(try ImageFixtures.bytes(name), name: name)
    }

    @Test("PNG, WebP, TIFF and BMP fixtures", arguments: [
        "png-rgb.png", "png-rgba.png", "png-gray.png", "png-gray1.png", "png-gray16.png", "png-rgb16.png",
        "png-palette-trns.png", "png-interlaced.png", "png-interlaced-rgba16.png", "png-exif-orientation-6.png",
        "png-filters-rgb.png", "png-filters-rgba.png", "png-filters-gray-alpha.png", "png-filters-palette.png",
        "webp-lossy.webp", "webp-lossless.webp", "webp-lossy-alpha.webp", "webp-lossless-rgba.webp",
        "webp-exif-orientation-6.webp", "tiff-rgb.tif", "bmp-rgb24.bmp",
    ])
    func otherFormats(_ name: String) throws {
        try expectRegionsMatch(try ImageFixtures.bytes(name), name: name)
    }

    /// One drawn 333×241 training image of each of `classes` in `format` (odd sizes: partial
    /// iMCUs, macroblocks and rows at the edges), with edges everywhere.
    func drawnFiles(_ format: SyntheticDataset.FileFormat, classes: [String], in directory: TemporaryDirectory) throws -> [URL] {
        var set = SyntheticDataset()
        set.classes = classes
        set.trainPerClass = 1
        set.validationPerClass = 1
        set.width = 333
        set.height = 241
        set.format = format
        let (train, _) = try set.write(to: URL(fileURLWithPath: directory.path))
        return classes.map { train.appendingPathComponent($0).appendingPathComponent("0000." + format.encoding(ofImage: 0).fileExtension) }
    }

    /// PNG and WebP (lossy: 4:2:0 macroblocks; lossless) of many rows.
    @Test("drawn PNG and WebP images", arguments: [SyntheticDataset.FileFormat.png, .webp])
    func drawnLosslessAndWebP(_ format: SyntheticDataset.FileFormat) throws {
        let directory = try TemporaryDirectory()
        for file in try drawnFiles(format, classes: ["checkers", "triangles"], in: directory) {
            try expectRegionsMatch(try decoder.readFile(atPath: file.path), name: file.path)
        }
    }

    /// A 4:2:0 JPEG of many iMCU rows and columns at each DCT scale.
    @Test("a drawn 4:2:0 JPEG at every DCT scale", arguments: [
        ImageDecoder.MinimumSize.fullResolution, .shorterSide(120), .shorterSide(60), .shorterSide(30),
    ])
    func drawnJPEG(_ minimumSize: ImageDecoder.MinimumSize) throws {
        let directory = try TemporaryDirectory()
        for file in try drawnFiles(.jpeg, classes: ["checkers", "circles"], in: directory) {
            try expectRegionsMatch(try decoder.readFile(atPath: file.path), name: file.path, minimumSize: minimumSize)
        }
    }

    /// The training transform's batches are the same whether each crop is decoded alone or cut
    /// from the whole image: crop-before-decode changes the speed, not one pixel.
    @Test("training batches are the same with regions decoded alone or cut from whole images")
    func trainingBatchesAreUnchanged() throws {
        let directory = try TemporaryDirectory()
        var set = SyntheticDataset()
        set.trainPerClass = 2
        set.validationPerClass = 1
        set.width = 400
        set.height = 300
        let (train, _) = try set.write(to: URL(fileURLWithPath: directory.path))
        let samples = try ImageFolder(root: train.path).scan()
        var whole = ImageDecoder()
        whole.decodesRegionsAlone = false
        let alone = BatchLoader(samples: samples, transform: .standardTraining, seed: 3, workers: 2)
        let cut = BatchLoader(samples: samples, transform: .standardTraining, seed: 3, workers: 2, decoder: whole)
        for epoch in 0..<2 {
            let indices = Array(0..<samples.samples.count)
            let a = try alone.batch(indices, resolution: 64, epoch: epoch)
            let b = try cut.batch(indices, resolution: 64, epoch: epoch)
            #expect(try a.images.contiguous().bytes() == b.images.contiguous().bytes(), "epoch \(epoch)")
        }
    }

    @Test("a cut file is refused even when the cut lies below the region", arguments: ["jpeg-baseline.jpg", "png-rgb.png", "webp-lossy.webp"])
    func truncatedFileIsRefused(_ name: String) throws {
        let bytes = try ImageFixtures.bytes(name)
        let cut = Array(bytes.prefix(bytes.count * 3 / 4))
        #expect(throws: ImageDecodeError.self) {
            try decoder.decodeTensor(cut, source: name, minimumSize: .fullResolution) { _ in
                CropBox(top: 0, left: 0, height: 1, width: 1)
            }
        }
    }

    /// Damaged files through the region decoders: an error or the region's pixels, never a
    /// crash or a short tensor. Bytes past the headers are overwritten at seeded positions.
    @Test("damaged files decode a region or fail cleanly", arguments: ["jpeg-baseline.jpg", "jpeg-progressive.jpg", "png-rgb.png", "webp-lossy.webp"])
    func damagedFiles(_ name: String) throws {
        let original = try ImageFixtures.bytes(name)
        var random = DeterministicRandom(seed: 11, epoch: 0, index: 0)
        var refused = 0
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<4 {
                let position = 64 + random.nextInt(below: bytes.count - 64 - 12)  // past the headers, before a PNG's IEND
                bytes[position] = UInt8(truncatingIfNeeded: random.next())
            }
            var requested: CropBox?
            do {
                let region = try decoder.decodeTensor(bytes, source: name, minimumSize: .fullResolution) { size in
                    let box = CropBox(top: size.height / 3, left: size.width / 4, height: max(1, size.height / 3), width: max(1, size.width / 2))
                    requested = box
                    return box
                }
                let box = try #require(requested)
                #expect(region.shape == [1, 3, box.height, box.width])
            } catch is ImageDecodeError {
                refused += 1
            }
        }
        // A PNG's chunks carry CRCs: damage in the rows read is always caught.
        if name.hasSuffix(".png") { #expect(refused > 0) }
    }
}
