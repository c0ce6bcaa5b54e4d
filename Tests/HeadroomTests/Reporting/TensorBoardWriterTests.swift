import Foundation
import Testing
import TestSupport

@testable import HeadroomFormats
@testable import HeadroomReporting

@Suite struct TensorBoardWriterTests {
    @Test func crc32cMatchesKnownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func tableAndBitwiseImplementationsAgree() {
        var generator = SyntheticRun.Generator(seed: 7)
        for length in [1, 3, 64, 1000] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            #expect(CRC32C.checksum(bytes) == TensorBoardEventReader.bitwiseCRC32C(bytes))
            #expect(CRC32C.masked(bytes) == TensorBoardEventReader.masked(TensorBoardEventReader.bitwiseCRC32C(bytes)))
        }
    }

    @Test func writtenScalarsReadBack() throws {
        let directory = try SyntheticRun.outputDirectory("tensorboard-writer").appendingPathComponent("tensorboard")
        let writer = try TensorBoardWriter(directory: directory)
        let expected = SyntheticRun.tensorBoardScalars
        for scalar in expected {
            try writer.add(scalar: Double(scalar.value), tag: scalar.tag, step: Int(scalar.step), wallTime: Date(timeIntervalSince1970: scalar.wallTime))
        }
        try writer.close()

        #expect(writer.fileURL.deletingLastPathComponent().standardizedFileURL.path == directory.standardizedFileURL.path)
        #expect(writer.fileURL.lastPathComponent.hasPrefix("events.out.tfevents."))
        let (fileVersion, scalars) = try TensorBoardEventReader.read(writer.fileURL)
        #expect(fileVersion == "brain.Event:2")
        #expect(scalars == expected)
    }

    @Test func flushMakesRecordsVisibleBeforeClose() throws {
        let directory = try SyntheticRun.outputDirectory("tensorboard-flush")
        let writer = try TensorBoardWriter(directory: directory, flushInterval: .seconds(3600), bufferLimit: 1 << 20)
        try writer.add(scalar: 1.5, tag: "loss/train", step: 3)
        #expect(try TensorBoardEventReader.read(writer.fileURL).scalars.isEmpty)
        try writer.flush()
        let scalars = try TensorBoardEventReader.read(writer.fileURL).scalars
        #expect(scalars.map(\.tag) == ["loss/train"])
        #expect(scalars.map(\.step) == [3])
        #expect(scalars.map(\.value) == [1.5])
        try writer.close()
    }

    @Test func aSecondWriterInTheSameSecondGetsItsOwnFile() throws {
        let directory = try SyntheticRun.outputDirectory("tensorboard-two")
        let first = try TensorBoardWriter(directory: directory)
        let second = try TensorBoardWriter(directory: directory)
        #expect(first.fileURL != second.fileURL)
        try first.close()
        try second.close()
    }

    /// /dev/full answers every write with ENOSPC (Linux; macOS has no such device).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func aFullDiskIsAThrownError() throws {
        // The file-version record is written at creation, so a full disk fails right there.
        #expect(throws: TensorBoardError.self) {
            _ = try TensorBoardWriter(
                fileURL: URL(fileURLWithPath: "/dev/full"), creationTime: Date(), flushInterval: .seconds(10), bufferLimit: 1024)
        }
    }

    @Test func addingAfterCloseThrows() throws {
        let writer = try TensorBoardWriter(directory: try SyntheticRun.outputDirectory("tensorboard-closed"))
        try writer.close()
        try writer.close()  // a second close is harmless
        #expect(throws: TensorBoardError.self) { try writer.add(scalar: 1, tag: "x", step: 1) }
    }

    @Test func negativeStepsAndLongTagsEncode() throws {
        var event = ProtobufWriter()
        event.append(field: 2, int64: -1)
        let fields = try TensorBoardEventReader.fields(event.bytes)
        guard case .varint(let raw) = try #require(fields.first).field else { Issue.record("not a varint"); return }
        #expect(Int64(bitPattern: raw) == -1)
        #expect(event.bytes.count == 11)  // key + ten varint bytes

        let tag = String(repeating: "t", count: 300)  // a two-byte length prefix
        let bytes = TensorBoardEvent.scalar(2, tag: tag, step: 1, wallTime: 0)
        let summary = try TensorBoardEventReader.fields(bytes).compactMap { if case .bytes(let b) = $0.field { b } else { nil } }
        #expect(summary.count == 1)
        #expect(String(decoding: try #require(summary.first), as: UTF8.self).contains(tag))
    }

    /// TensorBoard keeps one value a step: three out-of-memory errors in step 113 are written
    /// as a count that reaches 3 there (they showed as one).
    @Test func severalOutOfMemoryErrorsInOneStepAreCounted() throws {
        let scratch = try TemporaryDirectory("headroom-tb-oom")
        let run = RunDirectory(scratch.url)
        let recorder = try RunRecorder(runDirectory: run.url, metrics: run.metrics, tensorBoard: run.tensorBoard)
        for (step, size) in [(113, 16), (113, 13), (113, 11), (117, 11)] {
            let oom = RunEvent.OutOfMemory(resolution: 128, microBatch: size, newMicroBatch: size - 2, requestedBytes: nil, activationCheckpointing: nil)
            try recorder.record(.outOfMemory(oom), at: .init(time: 0, epoch: 7, step: step))
        }
        recorder.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: run.tensorBoard.path)
        let scalars = try files.flatMap { try TensorBoardEventReader.read(run.tensorBoard.appendingPathComponent($0)).scalars }
            .filter { $0.tag == "memory/out_of_memory_errors_in_step" }
        // What TensorBoard shows: the last value written at each step.
        let shown = Dictionary(scalars.map { ($0.step, $0.value) }, uniquingKeysWith: { _, last in last })
        #expect(shown[113] == 3 && shown[117] == 1, "\(scalars)")
    }
}
