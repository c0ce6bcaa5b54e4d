import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData

/// Deep and multi-band samples reach the tensor as they are stored: every band, full precision.
@Suite struct SampleDecodingTests {
    let decoder = ImageDecoder()

    func whole(_ size: ImageSize) -> CropBox { CropBox(top: 0, left: 0, height: size.height, width: size.width) }

    /// Values covering each type's extremes, the low byte and the sign.
    func values(count: Int, type: SampleType) -> [Double] {
        var random = DeterministicRandom(seed: 7)
        let edges: [Double] = switch type {
        case .uint16: [0, 1, 255, 256, 65535]
        case .int16: [-32768, -1, 0, 1, 32767]
        case .float32: [Double(Float(-1.5e30)), -0.25, 0, 3.140625, 6.5e4]
        default: [0, 1, 254, 255]
        }
        return (0..<count).map { index in
            if index < edges.count { return edges[index] }
            return switch type {
            case .uint16: Double(random.nextInt(below: 65536))
            case .int16: Double(random.nextInt(below: 65536) - 32768)
            case .float32: Double(Float(random.nextUniform(from: -1000, to: 1000)))
            default: Double(random.nextInt(below: 256))
            }
        }
    }

    @Test(arguments: [(SampleType.uint16, 13), (.int16, 4), (.float32, 2), (.uint16, 1)])
    func everyBandAtFullPrecision(type: SampleType, bands: Int) throws {
        let (height, width) = (5, 7)
        let expected = values(count: bands * height * width, type: type)
        let bytes = try SampleTIFF.encode(expected, bands: bands, height: height, width: width, type: type)
        let facts = try decoder.facts(of: bytes, source: "generated.tif")
        #expect(facts.bands == bands && facts.sampleType == type && !facts.isPhoto)
        let format = try InputFormat.agree([("generated.tif", facts)])
        #expect(format.reading == .samples && format.bands == bands && format.batchType == .float32)
        let samples = try decoder.decodeSamples(bytes, source: "generated.tif", format: format, region: whole)
        #expect(samples.shape == [1, bands, height, width])
        #expect(try samples.to(dtype: .float64).array(of: Double.self) == expected)
    }

    @Test func aRegionDecodesOnlyItsBox() throws {
        let expected = values(count: 3 * 6 * 8, type: .uint16)
        let bytes = try SampleTIFF.encode(expected, bands: 3, height: 6, width: 8, type: .uint16)
        let format = try InputFormat.agree([("a.tif", decoder.facts(of: bytes, source: "a.tif"))])
        let box = CropBox(top: 2, left: 3, height: 3, width: 4)
        let region = try decoder.decodeSamples(bytes, source: "a.tif", format: format) { _ in box }
        let full = try Tensor(expected).reshaped([1, 3, 6, 8])
        let reference = try full.slice(dim: 2, 2..<5).slice(dim: 3, 3..<7)
        #expect(try region.to(dtype: .float64).array(of: Double.self) == reference.array(of: Double.self))
    }

    @Test func bandsAreSelectedAndOrderedAsGiven() throws {
        let expected = values(count: 5 * 4 * 4, type: .uint16)
        let bytes = try SampleTIFF.encode(expected, bands: 5, height: 4, width: 4, type: .uint16)
        let facts = try decoder.facts(of: bytes, source: "a.tif")
        let selection = try #require(InputFormat.selection(parsing: "4,3,2"))
        #expect(selection == [3, 2, 1])
        let format = try InputFormat.agree([("a.tif", facts)], selection: selection)
        #expect(format.bands == 3 && format.fileBands == 5)
        let samples = try decoder.decodeSamples(bytes, source: "a.tif", format: format, region: whole)
        let plane = 16
        let reference = [3, 2, 1].flatMap { Array(expected[($0 * plane)..<(($0 + 1) * plane)]) }
        #expect(try samples.to(dtype: .float64).array(of: Double.self) == reference)
        #expect(throws: InputFormatError.self) { try InputFormat.agree([("a.tif", facts)], selection: [5]) }
        #expect(InputFormat.selection(parsing: "0,1") == nil && InputFormat.selection(parsing: "1,,2") == nil)
    }

    @Test func setsWhoseBandsDisagreeNameAFileOfEach() throws {
        let five = try decoder.facts(of: SampleTIFF.encode(values(count: 5 * 4, type: .uint16), bands: 5, height: 2, width: 2, type: .uint16), source: "x")
        let four = try decoder.facts(of: SampleTIFF.encode(values(count: 4 * 4, type: .uint16), bands: 4, height: 2, width: 2, type: .uint16), source: "y")
        #expect {
            try InputFormat.agree([("s2/a.tif", five), ("s2/b.tif", five), ("old/c.tif", four)])
        } throws: { error in
            let text = "\(error)"
            return text.contains("old/c.tif") && text.contains("s2/a.tif") && text.contains("4") && text.contains("5")
        }
    }

    @Test func aFileWithOtherBandsThanTheSetIsRefusedByName() throws {
        let bytes = try SampleTIFF.encode(values(count: 4 * 4, type: .uint16), bands: 4, height: 2, width: 2, type: .uint16)
        let format = InputFormat(reading: .samples, fileBands: 5, sampleType: .uint16, example: "set/first.tif")
        #expect {
            try decoder.decodeSamples(bytes, source: "set/odd.tif", format: format, region: whole)
        } throws: { error in
            (error as? ImageDecodeError)?.kind == .bandMismatch && "\(error)".contains("first.tif")
        }
    }

    /// A grey 8-bit PNG stays one band; a 16-bit one keeps its low byte.
    @Test func greyStaysOneBandAndSixteenBitsKeepTheirLowByte() throws {
        let grey = try decoder.facts(atPath: ImageFixtures.path("png-gray.png"))
        let format = try InputFormat.agree([("png-gray.png", grey)])
        #expect(format.reading == .photo && format.bands == 1 && format.batchType == .uint8)
        let deep = try decoder.facts(atPath: ImageFixtures.path("png-gray16.png"))
        #expect(deep.sampleType == .uint16 && deep.bands == 1)
        let deepFormat = try InputFormat.agree([("png-gray16.png", deep)])
        let samples = try decoder.decodeSamples(
            ImageFixtures.bytes("png-gray16.png"), source: "png-gray16.png", format: deepFormat, region: whole)
        #expect(samples.shape == [1, 1, deep.size.height, deep.size.width])
        let values = try samples.to(dtype: .float64).array(of: Double.self)
        // PIL's RGB reading of the same file is the high byte; the low byte is there too.
        let photo = try decoder.decodeTensor(
            ImageFixtures.bytes("png-gray16.png"), source: "png-gray16.png", minimumSize: .fullResolution, region: whole)
        let highBytes = try photo.slice(dim: 1, 0..<1).to(dtype: .float64).array(of: Double.self)
        #expect(zip(values, highBytes).allSatisfy { (($0 / 256).rounded(.down)) == $1 })
        #expect(values.contains { $0.truncatingRemainder(dividingBy: 256) != 0 })
    }

    @Test func truncatedSampleFilesAreRefusedNotRead() throws {
        let bytes = try SampleTIFF.encode(values(count: 3 * 16 * 16, type: .uint16), bands: 3, height: 16, width: 16, type: .uint16)
        let format = try InputFormat.agree([("a.tif", decoder.facts(of: bytes, source: "a.tif"))])
        for cut in stride(from: 9, to: bytes.count - 1, by: 97) {
            let short = Array(bytes.prefix(cut))
            #expect(throws: ImageDecodeError.self) {
                try decoder.decodeSamples(short, source: "cut.tif", format: format, region: whole)
            }
        }
    }
}
