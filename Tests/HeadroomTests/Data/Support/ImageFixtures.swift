import Foundation
import Testing
@testable import HeadroomData

/// The images written by `Scripts/make-image-fixtures.py` and what Pillow decoded from them.
enum ImageFixtures {
    struct Expected: Decodable {
        struct Image: Decodable {
            let width: Int
            let height: Int
            /// Lossless fixtures: FNV-1a 64 of the RGB bytes, in hex.
            let fnv1a64: String?
            /// Lossy fixtures: a raw HWC RGB file with Pillow's pixels.
            let rgb: String?
            let pixels: [PixelSample]
            let orientation: Int?
            let quarter: Quarter?
        }

        /// `[x, y, [r, g, b]]`.
        struct PixelSample: Decodable {
            let x: Int
            let y: Int
            let rgb: [UInt8]

            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                x = try container.decode(Int.self)
                y = try container.decode(Int.self)
                rgb = try container.decode([UInt8].self)
            }
        }

        /// Pillow's own 1/4 DCT-scaled decode of the 64x48 JPEG.
        struct Quarter: Decodable {
            let width: Int
            let height: Int
            let rgb: String
        }

        let images: [String: Image]
    }

    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static let expected: Expected = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(Expected.self, from: data)
    }()

    static func expected(_ name: String) throws -> Expected.Image {
        try #require(expected.images[name], "no expectation for \(name); rerun Scripts/make-image-fixtures.py")
    }

    /// FNV-1a 64, as the fixture script computes it.
    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Mean and largest absolute difference between two equally long byte arrays.
func pixelDifference(_ a: [UInt8], _ b: [UInt8]) -> (mean: Double, max: Int) {
    precondition(a.count == b.count)
    var total = 0
    var largest = 0
    for (x, y) in zip(a, b) {
        let difference = abs(Int(x) - Int(y))
        total += difference
        largest = max(largest, difference)
    }
    return (Double(total) / Double(max(a.count, 1)), largest)
}

/// A lossy decode (JPEG, lossy WebP) against Pillow's pixels of the same fixture: the same
/// size, and within rounding (mean absolute difference ≤ 1, none over 8).
func expectWithinRoundingOfPillow(_ name: String, decoder: ImageDecoder, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try ImageFixtures.expected(name)
    let image = try decoder.decode(fileAtPath: ImageFixtures.path(name))
    #expect(image.size == ImageSize(width: expected.width, height: expected.height), sourceLocation: sourceLocation)
    let reference = try ImageFixtures.bytes(try #require(expected.rgb, sourceLocation: sourceLocation))
    try #require(reference.count == image.pixels.count, sourceLocation: sourceLocation)
    let difference = pixelDifference(image.pixels, reference)
    #expect(difference.mean <= 1.0, "mean absolute difference \(difference.mean)", sourceLocation: sourceLocation)
    #expect(difference.max <= 8, "largest absolute difference \(difference.max)", sourceLocation: sourceLocation)
}

/// Expects a lossless fixture to decode to Pillow's exact pixels: its size, the sampled
/// pixels and the hash of every byte.
func expectExactlyPillows(_ name: String, decoder: ImageDecoder, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try ImageFixtures.expected(name)
    let image = try decoder.decode(fileAtPath: ImageFixtures.path(name))
    #expect(image.size == ImageSize(width: expected.width, height: expected.height), sourceLocation: sourceLocation)
    for sample in expected.pixels {
        #expect(image[sample.x, sample.y] == sample.rgb, "pixel (\(sample.x), \(sample.y)) of \(name)", sourceLocation: sourceLocation)
    }
    #expect(ImageFixtures.fnv1a64(image.pixels) == expected.fnv1a64, sourceLocation: sourceLocation)
}
