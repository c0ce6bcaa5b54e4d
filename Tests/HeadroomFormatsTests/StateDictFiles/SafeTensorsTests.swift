import Foundation
import TestFiles
import TorchTypes
import Testing

@testable import HeadroomFormats

@Suite("safetensors reading and writing")
struct SafeTensorsTests {
    @Test(arguments: ["tiny.safetensors", "metadata.safetensors"])
    func readsFilesWrittenByTheReferenceLibrary(fixture: String) throws {
        let file = try SafeTensorsFile(contentsOf: StateDictFixtures.url(fixture))
        let expected = try StateDictFixtures.expectedStateDict(fixture)
        expectRecords(file.records(), match: expected)
        #expect(file.metadata == expected.metadata)
        #expect(file.names == expected.keys)
    }

    @Test func readsOneTensorOnRequest() throws {
        let file = try SafeTensorsFile(contentsOf: StateDictFixtures.url("tiny.safetensors"))
        let expected = try StateDictFixtures.expectedStateDict("tiny.safetensors")
        expectRecord(
            file.record(named: "bn.num_batches_tracked"), matches: expected.tensors["bn.num_batches_tracked"], "bn")
        #expect(file.record(named: "missing") == nil)
    }

    /// Our writer lays a file out byte for byte as `safetensors.torch.save_file` does.
    @Test func writesTheReferenceLayout() throws {
        let reference = try StateDictFixtures.data("tiny.safetensors")
        let file = try SafeTensorsFile(contents: reference, path: "tiny.safetensors")
        #expect(try SafeTensors.encoded(file.records(), metadata: file.metadata) == reference)

        // Same from records in a different (the module's) order.
        let fromCheckpoint = try TorchCheckpoint(contentsOf: StateDictFixtures.url("tiny.pth")).stateDict()
        #expect(try SafeTensors.encoded(fromCheckpoint, metadata: ["format": "pt"]) == reference)
    }

    @Test func roundTripsEveryDTypeAndShape() throws {
        var records = StateDictRecords()
        for (index, dtype) in DType.allCases.enumerated() {
            let shape = [[], [0], [3], [2, 1, 2]][index % 4]
            let count = shape.reduce(1, *)
            let bytes = Data((0..<count * dtype.elementSize).map { UInt8(truncatingIfNeeded: $0 * 37 + index) })
            records["layer\(index).\(dtype.safeTensorsName)"] = try TensorRecord(
                dtype: dtype, shape: shape, bytes: bytes)
        }
        let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t bell \u{07} é ✓ 𝄞", "": ""]

        let url = scratch.url.appendingPathComponent("round-trip.safetensors")
        try SafeTensors.write(records, metadata: metadata, to: url)
        let (read, readMetadata) = try SafeTensors.read(contentsOf: url)
        #expect(readMetadata == metadata)
        #expect(Set(read.keys) == Set(records.keys))
        for (key, record) in records { #expect(read[key] == record, "\(key)") }
        // The data buffer starts 8-byte aligned.
        let headerLength = try Data(contentsOf: url).withUnsafeBytes { $0.loadLittleEndian(UInt64.self, at: 0) }
        #expect(headerLength % 8 == 0)
    }

    @Test func writingReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let directory = scratch.url
        let url = directory.appendingPathComponent("model.safetensors")
        let first: StateDictRecords = ["a": try TensorRecord(dtype: .uint8, shape: [1], bytes: Data([1]))]
        let second: StateDictRecords = ["b": try TensorRecord(dtype: .uint8, shape: [2], bytes: Data([2, 3]))]
        try SafeTensors.write(first, to: url)
        try SafeTensors.write(second, to: url)
        #expect(try SafeTensors.read(contentsOf: url).records == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }

    @Test func writingIntoAMissingDirectoryIsAnIOError() throws {
        let url = URL(fileURLWithPath: "/nonexistent-directory/model.safetensors")
        let error = try #require(throws: StateDictError.self) { try SafeTensors.write([:], to: url) }
        guard case .io(let path, _) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(path == url.path)
    }

    @Test func refusesTheReservedMetadataKeyAsATensorName() throws {
        let records: StateDictRecords = ["__metadata__": try TensorRecord(dtype: .uint8, shape: [], bytes: Data([0]))]
        #expect(throws: StateDictError.self) { try SafeTensors.encoded(records) }
    }

    @Test func emptyStateDictRoundTrips() throws {
        let data = try SafeTensors.encoded([:])
        #expect(try SafeTensorsFile(contents: data, path: "empty").entries.isEmpty)
    }

    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("statedict-tests")
    }
}

@Suite("records")
struct TensorRecordTests {
    @Test func refusesBytesThatDoNotMatchTheShape() {
        #expect(throws: StateDictError.self) { try TensorRecord(dtype: .float32, shape: [2], bytes: Data(count: 7)) }
        #expect(throws: StateDictError.self) { try TensorRecord(dtype: .int8, shape: [-1], bytes: Data()) }
        #expect(throws: StateDictError.self) {
            try TensorRecord(dtype: .int8, shape: [Int.max, 2], bytes: Data())
        }
    }

    @Test func rebasesSlices() throws {
        let record = try TensorRecord(dtype: .uint8, shape: [2], bytes: Data([9, 8, 7]).dropFirst())
        #expect(record.bytes[0] == 8)
    }

    @Test func decodesHalfPrecision() {
        let cases: [(UInt16, Double)] = [
            (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x8000, -0.0), (0x7C00, .infinity),
        ]
        for (bits, value) in cases { #expect(TensorRecord.double(fromFloat16Bits: bits) == value) }
        #expect(TensorRecord.double(fromFloat16Bits: 0x7E00).isNaN)
    }

    @Test func keepsInsertionOrder() throws {
        let one = try TensorRecord(dtype: .uint8, shape: [], bytes: Data([1]))
        let two = try TensorRecord(dtype: .uint8, shape: [], bytes: Data([2]))
        var records: StateDictRecords = ["b": one, "a": one, "c": one]
        records["a"] = two
        #expect(records.keys == ["b", "a", "c"])
        #expect(records["a"] == two)
        records["b"] = nil
        #expect(records.keys == ["a", "c"])
        #expect(records["c"] == one)
        records["b"] = one
        #expect(records.keys == ["a", "c", "b"])
    }
}
