import Foundation
import Testing
import Torch
@testable import HeadroomData
@testable import HeadroomFormats

/// Files written by tifffile and by a PNG encoder outside Headroom (Scripts/make-sample-fixtures.py)
/// decode to exactly the arrays they were written from.
@Suite struct SampleFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let decoder = ImageDecoder()

    @Test(arguments: [
        ("s2-13band-uint16-tiled.tif", SampleType.uint16), ("bigtiff-4band-float32.tif", .float32),
        ("planar-3band-int16-lzw.tif", .int16), ("geotiff-2band-uint16.tif", .uint16), ("multispectral-5band-uint8.tif", .uint8),
        ("rgba-uint16.tif", .uint16), ("png-grey16.png", .uint16), ("png-rgb16.png", .uint16),
    ])
    func decodesExactlyWhatWasWritten(name: String, type: SampleType) throws {
        let path = Self.directory.appendingPathComponent(name).path
        let reference = try NumPyReference(contentsOf: Self.directory.appendingPathComponent(
            URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent + ".npy"))
        let facts = try decoder.facts(atPath: path)
        #expect(facts.sampleType == type && facts.imageBands == reference.shape[0])
        #expect(facts.size == ImageSize(width: reference.shape[2], height: reference.shape[1]))
        let format = try InputFormat.agree([(path, facts)])
        #expect(format.reading == .samples && format.bands == reference.shape[0])
        let samples = try decoder.decodeSamples(try decoder.readFile(atPath: path), source: path, format: format) {
            CropBox(top: 0, left: 0, height: $0.height, width: $0.width)
        }
        #expect(samples.shape == [1] + reference.shape)
        #expect(try samples.array(of: Float.self) == reference.values)
    }

    /// A crop of a tiled file reads the same values as the whole file's crop.
    @Test func aCropOfATiledFileIsTheWholeFilesCrop() throws {
        let path = Self.directory.appendingPathComponent("s2-13band-uint16-tiled.tif").path
        let bytes = try decoder.readFile(atPath: path)
        let format = try InputFormat.agree([(path, decoder.facts(atPath: path))])
        let whole = try decoder.decodeSamples(bytes, source: path, format: format) { CropBox(top: 0, left: 0, height: $0.height, width: $0.width) }
        for box in [CropBox(top: 3, left: 17, height: 19, width: 21), CropBox(top: 16, left: 32, height: 8, width: 8), CropBox(top: 0, left: 0, height: 1, width: 40)] {
            let crop = try decoder.decodeSamples(bytes, source: path, format: format) { _ in box }
            let expected = try whole.slice(dim: 2, box.top..<(box.top + box.height)).slice(dim: 3, box.left..<(box.left + box.width))
            #expect(try crop.array(of: Float.self) == expected.contiguous().array(of: Float.self))
        }
    }

    /// Every cut of a 16-bit PNG and of a TIFF that loses pixel data is refused (a PNG cut only
    /// in its closing IEND chunk holds every pixel, and reads as the whole file, as in PIL); a
    /// flipped byte is refused or decodes to the file's shape, never a crash.
    @Test(arguments: ["png-rgb16.png", "png-grey16.png", "geotiff-2band-uint16.tif"])
    func cutAndFlippedFilesAreRefusedOrRead(name: String) throws {
        let path = Self.directory.appendingPathComponent(name).path
        let bytes = try decoder.readFile(atPath: path)
        let format = try InputFormat.agree([(path, decoder.facts(atPath: path))])
        let whole: (ImageSize) -> CropBox = { CropBox(top: 0, left: 0, height: $0.height, width: $0.width) }
        let complete = try decoder.decodeSamples(bytes, source: path, format: format, region: whole).array(of: Float.self)
        let pixelDataEnd = name.hasSuffix(".png") ? bytes.count - 12 : bytes.count
        for cut in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 200)) {
            let short = Array(bytes.prefix(cut))
            if cut >= pixelDataEnd {
                #expect(try decoder.decodeSamples(short, source: path, format: format, region: whole).array(of: Float.self) == complete)
            } else {
                #expect(throws: ImageDecodeError.self, "cut at \(cut)") {
                    try decoder.decodeSamples(short, source: path, format: format, region: whole)
                }
            }
        }
        var random = DeterministicRandom(seed: 11)
        for _ in 0..<300 {
            var flipped = bytes
            flipped[random.nextInt(below: bytes.count)] ^= UInt8(1 << random.nextInt(below: 8))
            if let samples = try? decoder.decodeSamples(flipped, source: path, format: format, region: whole) {
                #expect(samples.shape[1] == format.bands)
            }
        }
    }

    /// `inspect --save-npy`'s file is what NumPy writes for the same array.
    @Test func theNumPyWriterRoundTrips() throws {
        let reference = try NumPyReference(contentsOf: Self.directory.appendingPathComponent("planar-3band-int16-lzw.npy"))
        let written = NumPyFile.float32(reference.values, shape: reference.shape)
        let original = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("planar-3band-int16-lzw.npy")))
        #expect(written == original)
    }
}
