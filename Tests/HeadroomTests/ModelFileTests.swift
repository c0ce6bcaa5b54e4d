import Foundation
import Testing
import TestSupport
import Torch
import TorchNN
@testable import HeadroomFormats
@testable import HeadroomModels

@Suite struct ModelFileTests {
    let scratch: TemporaryDirectory
    var directory: URL { scratch.url }

    init() throws {
        scratch = try TemporaryDirectory("headroom-modelfile")
    }

    @Test func aModelRoundTripsThroughSafetensorsWithItsClassNames() throws {
        let source = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 1))
        let url = directory.appendingPathComponent("model.safetensors")
        let names = ["cat", "dog", "überfish"]
        try ModelFile.write(source.stateDict(), metadata: ModelFile.classNamesMetadata(names), to: url)
        // Kept for the torchvision check in Scripts/check-torchvision-load.py.
        if let keep = ProcessInfo.processInfo.environment["HEADROOM_KEEP_EXPORT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: url, to: URL(fileURLWithPath: keep))
        }

        let (tensors, metadata) = try ModelFile.read(url)
        #expect(tensors.map(\.name) .sorted() == source.stateDict().map(\.name).sorted())
        #expect(ModelFile.classNames(in: metadata) == names)
        let target = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 2))
        let report = try target.load(Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }))
        #expect(report.loadedCount == 122)
        for ((name, a), (_, b)) in zip(source.stateDict(), target.stateDict()) {
            #expect(try a.bytes() == b.bytes(), "\(name) differs")
        }
    }

    /// A safetensors header whose length's low byte is 0x80 (a pickle's first byte) is still
    /// safetensors: one more metadata entry made a real export unreadable this way.
    /// An ONNX file handed to a weights reader says what it is and what to give instead
    /// (it was read as safetensors: "header length 7233173974020130824 exceeds the 100 MB limit").
    @Test func anONNXFileIsNamedAsSuch() throws {
        let url = directory.appendingPathComponent("model.onnx")
        try Data([0x08, 0x08, 0x12, 0x08] + Array("headroom".utf8) + [UInt8](repeating: 0x3A, count: 64)).write(to: url)
        let error = #expect(throws: (any Error).self) { try ModelFile.read(url) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("onnxruntime"), "\(String(describing: error))")
    }

    @Test func aHeaderLengthStartingLikeAPickleIsStillSafetensors() throws {
        let url = directory.appendingPathComponent("padded.safetensors")
        var found = false
        for padding in 0..<256 {
            try ModelFile.write([("w", try Tensor([1, 2, 3] as [Float]))], metadata: ["pad": String(repeating: "x", count: padding)], to: url)
            guard try Data(contentsOf: url).first == 0x80 else { continue }
            found = true
            let (tensors, metadata) = try ModelFile.read(url)
            #expect(try tensors.first?.tensor.array(of: Float.self) == [1, 2, 3])
            #expect(metadata["pad"]?.count == padding)
            break
        }
        #expect(found, "no padding gave a header length with low byte 0x80")
    }

    @Test(arguments: DType.allCases)
    func everyDTypeRoundTripsBitExactly(_ dtype: DType) throws {
        let pattern = (0..<24).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ 7) }
        let elements = 24 / dtype.elementSize
        let tensor = try pattern.withUnsafeBytes { raw in
            try Tensor(copying: UnsafeRawBufferPointer(rebasing: raw[0..<(elements * dtype.elementSize)]), shape: [elements], dtype: dtype)
        }
        let url = directory.appendingPathComponent("\(dtype).safetensors")
        try ModelFile.write([("t", tensor)], to: url)
        let back = try #require(try ModelFile.read(url).tensors.first)
        #expect(back.tensor.dtype == dtype)
        #expect(try back.tensor.bytes() == tensor.bytes())
    }

    @Test func torchSaveFilesReadIntoTensors() throws {
        // The torch.save fixture of the file-format tests (Scripts/make-statedict-fixtures.py).
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("HeadroomFormatsTests/StateDictFiles/Fixtures/tiny.pth")
        let (tensors, metadata) = try ModelFile.read(url)
        #expect(metadata.isEmpty)
        let records = try TorchCheckpoint(contentsOf: url).stateDict()
        #expect(tensors.map(\.name) == records.keys)
        for ((name, tensor), (_, record)) in zip(tensors, records) {
            // Two paths: libtorch's conversion of the tensor, and the record's own decoding.
            expectClose(tensor, record.doubleValues(), shape: record.shape, within: .identical)
            #expect(tensor.dtype == record.dtype, "\(name)")
        }
    }

    /// Writing renames a finished file into place, which would replace whatever is there:
    /// a FIFO, a symbolic link or a folder is refused and left as it was (as /dev/null would be).
    @Test func specialFilesAreNotReplaced() throws {
        let tensor = try Tensor([1, 2] as [Float])
        let fifo = directory.appendingPathComponent("pipe.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let link = directory.appendingPathComponent("link.safetensors")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/null")
        let folder = directory.appendingPathComponent("folder.safetensors")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (url, type) in [(fifo, S_IFIFO), (link, S_IFLNK), (folder, S_IFDIR)] {
            do {
                try ModelFile.write([("t", tensor)], to: url)
                Issue.record("replaced \(url.lastPathComponent)")
            } catch {
                #expect("\(error)".contains("not a regular file"), "\(error)")
                // The refusal ends with what it did, not a stale errno ("…: No such file or directory").
                #expect("\(error)".hasSuffix("so it was left alone"), "\(error)")
            }
            var status = stat()
            #expect(lstat(url.path, &status) == 0 && status.st_mode & S_IFMT == type, "\(url.lastPathComponent) changed")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.hasSuffix(".tmp") })
    }

    /// A FIFO given as a model would block open() until a writer came: refused unopened.
    /// A folder is named as one (it was raw NSCocoaErrorDomain text).
    @Test func aFIFOOrAFolderIsNotAModel() throws {
        let fifo = directory.appendingPathComponent("model.pth")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: (any Error).self) { try ModelFile.read(fifo) }
        do { _ = try ModelFile.read(fifo) } catch { #expect("\(error)".contains("not a regular file"), "\(error)") }
        do { _ = try ModelFile.read(directory) } catch { #expect("\(error)".contains("a folder, not a model file"), "\(error)") }
    }

    /// torch.save before 1.6 wrote a bare pickle: named as that, not as a safetensors error.
    @Test func aLegacyTorchSaveFileIsNamedAsOne() throws {
        let url = directory.appendingPathComponent("legacy.pth")
        try Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]).write(to: url)
        do {
            _ = try ModelFile.read(url)
            Issue.record("read a legacy file")
        } catch {
            #expect("\(error)".contains("legacy torch.save format"), "\(error)")
        }
    }

    @Test func aTextFileIsNotAModel() throws {
        let url = directory.appendingPathComponent("notes.pth")
        try Data("not a model".utf8).write(to: url)
        #expect(throws: (any Error).self) { try ModelFile.read(url) }
    }

    @Test func fineTuningFromAThousandClassCheckpointResetsOnlyTheClassifier() throws {
        let imagenet = try ResNet(.resnet18, classCount: 1000, generator: Generator(seed: 3))
        let weights = Dictionary(uniqueKeysWithValues: imagenet.stateDict().map { ($0.name, $0.tensor) })
        let model = try ResNet(.resnet18, classCount: 10, generator: Generator(seed: 4))
        let result = try model.loadPretrained(weights)
        #expect(result.classifierReset?.checkpointClasses == 1000)
        #expect(result.classifierReset?.modelClasses == 10)
        #expect(result.report.loadedCount == 120)
        #expect(result.description.contains("re-initialised"))
        #expect(try model.conv1.weight.bytes() == imagenet.conv1.weight.bytes())
        #expect(model.fc.weight.shape == [10, 512])

        // The same classes: everything loads, nothing is reset.
        let again = try ResNet(.resnet18, classCount: 1000)
        let same = try again.loadPretrained(weights)
        #expect(same.classifierReset == nil)
        #expect(same.report.loadedCount == 122)
    }

    @Test func fineTuningRefusesAnotherArchitecture() throws {
        let resnet34 = Dictionary(uniqueKeysWithValues: try ResNet(.resnet34, classCount: 1000).stateDict().map { ($0.name, $0.tensor) })
        let model = try ResNet(.resnet18, classCount: 10)
        #expect(throws: StateDictMismatch.self) { try model.loadPretrained(resnet34) }
    }
}
