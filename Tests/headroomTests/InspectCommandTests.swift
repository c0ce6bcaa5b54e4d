import ArgumentParser
import Foundation
import Headroom
import TestSupport
import Testing
@testable import headroom

/// `headroom inspect` writes what NumPy wrote for the same file's values.
@Suite struct InspectCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("HeadroomTests/Bands/Fixtures")

    @Test func saveNpyWritesTheSameBytesAsNumPy() throws {
        let directory = try TemporaryDirectory()
        for name in ["planar-3band-int16-lzw", "s2-13band-uint16-tiled", "png-grey16"] {
            let image = try #require(FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).first { $0.hasPrefix(name + ".") && !$0.hasSuffix(".npy") })
            let output = directory.url.appendingPathComponent(name + ".npy")
            let command = try #require(
                try HeadroomCommand.parseAsRoot(["inspect", Self.fixtures.appendingPathComponent(image).path, "--save-npy", output.path]) as? Inspect)
            try command.run()
            #expect(try Data(contentsOf: output) == Data(contentsOf: Self.fixtures.appendingPathComponent(name + ".npy")), "\(name)")
        }
    }

    /// For every lossless single-frame DICOM fixture, `inspect --save-npy` writes byte for byte
    /// the file NumPy wrote for pydicom's modality values.
    @Test func inspectEqualsPydicomOnLosslessDicom() throws {
        struct Entry: Decodable { var frames: Int; var lossless: Bool; var reference: String }
        let dicom = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/dicom")
        let manifest = try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: dicom.appendingPathComponent("manifest.json")))
        let lossless = manifest.filter { $0.value.frames == 1 && $0.value.lossless }
        #expect(lossless.count >= 10)
        let directory = try TemporaryDirectory()
        for (name, entry) in lossless.sorted(by: { $0.key < $1.key }) {
            let output = directory.url.appendingPathComponent(entry.reference)
            let command = try #require(
                try HeadroomCommand.parseAsRoot(["inspect", dicom.appendingPathComponent(name).path, "--save-npy", output.path]) as? Inspect)
            try command.run()
            #expect(try Data(contentsOf: output) == Data(contentsOf: dicom.appendingPathComponent(entry.reference)), "\(name)")
        }
    }

    @Test func bandsAndSummariesAreShown() throws {
        let path = Self.fixtures.appendingPathComponent("s2-13band-uint16-tiled.tif").path
        let (inspection, _) = try ImageInspection.inspect(path: path, decoder: ImageDecoder(), selection: [3, 2, 1])
        #expect(inspection.facts.bands == 13 && inspection.input.bands == 3)
        let lines = Inspect.lines(inspection)
        #expect(lines[0].contains("TIFF 40×24, 13 bands of uint16 (16 bits)"))
        #expect(lines.contains { $0.hasPrefix("  band 4: min ") } && !lines.contains { $0.hasPrefix("  band 1:") })
        #expect(inspection.bands.allSatisfy { $0.min <= $0.mean && $0.mean <= $0.max && $0.std > 0 })
    }

    @Test(arguments: [
        ["inspect"], ["inspect", "a.tif", "--bands", "0"], ["inspect", "a.tif", "--bands", "x"], ["inspect", "a.svs", "--level", "-1"],
        ["inspect", "a.svs", "--region", "1,2,3"], ["inspect", "a.svs", "--region", "1,2,0,4"],
    ])
    func refusesInvalidOptions(arguments: [String]) {
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(arguments) }
    }

    /// `inspect SLIDE --level --region --save-npy` writes OpenSlide's region (read_region's pixels,
    /// as openslide-python gave them) as float32 [3, h, w]; `--json` carries the pyramid.
    @Test func aSlideRegionIsOpenSlidesOwn() throws {
        let slides = Self.fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/slides")
        let directory = try TemporaryDirectory()
        let output = directory.url.appendingPathComponent("region.npy")
        let slide = slides.appendingPathComponent("generic-deflate.tiff").path
        let command = try #require(
            try HeadroomCommand.parseAsRoot(["inspect", slide, "--level", "1", "--region", "37,53,96,72", "--save-npy", output.path]) as? Inspect)
        try command.run()
        let reference = [UInt8](try Data(contentsOf: slides.appendingPathComponent("generic-deflate.level1.npy")).suffix(72 * 96 * 4))
        let written = [UInt8](try Data(contentsOf: output).suffix(3 * 72 * 96 * 4))
        #expect(written.count == 3 * 72 * 96 * 4)
        for pixel in 0..<(72 * 96) {
            for band in 0..<3 {
                let offset = 4 * (band * 72 * 96 + pixel)
                let value = Float(bitPattern: UInt32(written[offset]) | UInt32(written[offset + 1]) << 8 | UInt32(written[offset + 2]) << 16 | UInt32(written[offset + 3]) << 24)
                guard value == Float(reference[4 * pixel + band]) else {
                    Issue.record("pixel \(pixel) band \(band): \(value), read_region gave \(reference[4 * pixel + band])")
                    return
                }
            }
        }
        #expect(throws: (any Error).self) {
            try (HeadroomCommand.parseAsRoot(["inspect", slide, "--region", "1,2,0,5"]) as? Inspect)?.run()
        }
    }
}
