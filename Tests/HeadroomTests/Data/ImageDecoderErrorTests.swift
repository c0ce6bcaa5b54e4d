import Foundation
import Headroom
import Testing

@Suite("ImageDecoder on bad input")
struct ImageDecoderErrorTests {
    let decoder = ImageDecoder()

    /// The error decoding `name` throws; fails the test if it decodes.
    func decodeError(_ name: String, decoder: ImageDecoder = ImageDecoder()) throws -> ImageDecodeError {
        let path = ImageFixtures.path(name)
        let error = try #require(throws: ImageDecodeError.self) { try decoder.decode(fileAtPath: path) }
        #expect(error.path == path)
        #expect(error.description.hasPrefix(path + ": "))
        return error
    }

    /// A DICOM file whose preamble holds a TIFF header (a dual-personality file) was
    /// reported as a truncated TIFF; it is named as DICOM, with what to do.
    @Test func aDICOMFileIsNamedAsSuch() throws {
        var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + [UInt8](repeating: 0x42, count: 64)
        bytes.replaceSubrange(0..<8, with: [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00])
        let error = try #require(throws: ImageDecodeError.self) { try decoder.decode(bytes, source: "scan.dcm") }
        #expect(error.kind == .unsupportedFormat && error.description.contains("DICOM"), "\(error)")
    }

    @Test("each broken file is reported with its own kind", arguments: [
        ("truncated.jpg", ImageDecodeError.Kind.truncated),
        ("truncated-header.jpg", .truncated),
        ("not-an-image.jpg", .unsupportedFormat),
        ("empty.png", .unsupportedFormat),
        ("png-corrupt.png", .corrupt),
        ("png-truncated.png", .truncated),
        ("png-huge-dimensions.png", .tooManyPixels),
        ("webp-truncated.webp", .truncated),
        ("webp-huge-dimensions.webp", .tooManyPixels),
        ("webp-animated.webp", .unsupportedFormat),
        ("tiff-truncated.tif", .truncated),
        ("tiff-huge-dimensions.tif", .tooManyPixels),
        ("bmp-truncated.bmp", .truncated),
        ("bmp-huge-dimensions.bmp", .tooManyPixels),
        ("bmp-rle8.bmp", .unsupportedFormat),
    ])
    func brokenFile(name: String, kind: ImageDecodeError.Kind) throws {
        let error = try decodeError(name)
        #expect(error.kind == kind, "\(error)")
        #expect(!error.detail.isEmpty)
    }

    @Test("an extreme aspect ratio is refused before its evaluation resize, not allocated")
    func extremeAspectRatioIsABadImage() throws {
        // 1×60000: 180 kB of pixels, a few hundred bytes as PNG, 11 GiB once resized for 224 px.
        let strip = DecodedImage(width: 1, height: 60_000, pixels: [UInt8](repeating: 200, count: 180_000))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strip-\(UUID()).png").path
        try Data(try ImageEncoder.encode(strip, as: .png(fast: false))).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var random = DeterministicRandom(seed: 1)
        let error = try #require(throws: ImageDecodeError.self) {
            try SampleTransform.standardEvaluation.apply(toFileAt: path, resolution: 224, decoder: decoder, random: &random)
        }
        #expect(error.kind == .tooManyPixels && error.path == path)
        #expect(error.description.contains("256×15360000"), "\(error)")
        // Training crops a window first, so the same file trains (its crop is 224×224).
        let crop = try SampleTransform.standardTraining.apply(toFileAt: path, resolution: 224, decoder: decoder, random: &random)
        #expect(crop.shape == [3, 224, 224])
    }

    @Test("a FIFO named like an image is unreadable at once, not waited on")
    func aFIFOIsNotWaitedOn() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID()).jpg").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: ImageDecodeError.self) { try decoder.decode(fileAtPath: path) }
        #expect(error.kind == .unreadable && error.description.contains("not a regular file"), "\(error)")
    }

    @Test("a missing file is unreadable, with the system's reason")
    func missingFile() throws {
        let error = try decodeError("no-such-file.jpg")
        #expect(error.kind == .unreadable)
        #expect(error.detail.contains("No such file"))
    }

    @Test("a JPEG whose SOF claims 60000x60000 is rejected from the header")
    func hugeJPEGHeader() throws {
        var bytes = try ImageFixtures.bytes("jpeg-baseline.jpg")
        let sof = try #require((0 ..< bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        // SOF0: FF C0, length (2), precision (1), height (2), width (2).
        bytes.replaceSubrange(sof + 5 ..< sof + 9, with: [0xEA, 0x60, 0xEA, 0x60])
        let error = try #require(throws: ImageDecodeError.self) { try decoder.decode(bytes, source: "huge.jpg") }
        #expect(error.kind == .tooManyPixels)
        #expect(error.detail.contains("60000x60000"))
    }

    @Test("the pixel limit applies to the full-resolution header, at the boundary", arguments: [
        "jpeg-baseline.jpg", "png-rgb.png", "webp-lossy.webp", "tiff-rgb-lzw.tif", "bmp-rgb24.bmp",
    ])
    func pixelLimitBoundary(name: String) throws {
        let pixels = 32 * 24
        #expect(try ImageDecoder(pixelLimit: pixels).decode(fileAtPath: ImageFixtures.path(name)).size.pixelCount == pixels)
        let error = try decodeError(name, decoder: ImageDecoder(pixelLimit: pixels - 1))
        #expect(error.kind == .tooManyPixels)
        // Scaling the decode down does not get around the limit.
        let scaled = try #require(throws: ImageDecodeError.self) {
            try ImageDecoder(pixelLimit: pixels - 1).decode(fileAtPath: ImageFixtures.path(name), minimumSize: .shorterSide(3))
        }
        #expect(scaled.kind == .tooManyPixels)
    }

    @Test("every truncation of a valid file decodes or throws, never crashes", arguments: [
        "jpeg-baseline.jpg", "jpeg-progressive.jpg", "png-interlaced.png", "png-palette-trns.png",
        "webp-lossy.webp", "webp-lossless.webp", "tiff-rgb-lzw.tif", "bmp-palette8.bmp",
    ])
    func everyPrefix(name: String) throws {
        let bytes = try ImageFixtures.bytes(name)
        var failures = 0
        for length in 0 ..< bytes.count {
            do {
                _ = try decoder.decode(Array(bytes[..<length]), source: name)
            } catch {
                failures += 1
                #expect(error.kind != .unreadable && error.kind != .outOfMemory, "\(error)")
            }
        }
        // Only a cut inside the trailing end-of-image marker or chunk may still decode.
        #expect(failures >= bytes.count - 12)
    }

    @Test("random byte damage decodes or throws, never crashes", arguments: [
        "jpeg-cmyk.jpg", "png-rgb16.png", "webp-lossy.webp", "webp-lossless-rgba.webp", "tiff-rgba-deflate.tif",
        "tiff-palette.tif", "bmp-rgba32.bmp", "bmp-palette8.bmp",
    ])
    func randomDamage(name: String) throws {
        let original = try ImageFixtures.bytes(name)
        var random = DeterministicRandom(seed: 7)
        for _ in 0 ..< 300 {
            var bytes = original
            for _ in 0 ..< 1 + random.nextInt(below: 4) {
                bytes[random.nextInt(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            }
            if let image = try? decoder.decode(bytes, source: name) {
                #expect(image.pixels.count == image.width * image.height * 3)
            }
        }
    }
}
