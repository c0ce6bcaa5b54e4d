import Foundation
import Testing

@testable import HeadroomFormats

@Suite("torch.save checkpoints")
struct TorchCheckpointTests {
    /// The same state dict written four ways: protocol 2 (torch's default),
    /// protocol 4, with ZIP64 records, and big-endian (a smaller dict).
    @Test(arguments: ["tiny.pth", "tiny-protocol4.pth", "tiny-zip64.pth", "big-endian.pth"])
    func readsStateDict(fixture: String) throws {
        let checkpoint = try TorchCheckpoint(contentsOf: StateDictFixtures.url(fixture))
        expectRecords(try checkpoint.stateDict(), match: try StateDictFixtures.expectedStateDict(fixture))
    }

    @Test func materialisesViewsOfSharedStorages() throws {
        let records = try TorchCheckpoint(contentsOf: StateDictFixtures.url("tiny.pth")).stateDict()
        let transposed = try #require(records["transposed"])
        #expect(transposed.shape == [4, 3])
        #expect(transposed.doubleValues() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        #expect(records["every_other_column"]?.doubleValues() == [0, 2, 4, 6, 8, 10])
        #expect(records["shared_head"]?.doubleValues() == [0, 3, 6, 9])
        #expect(records["shared_tail"]?.doubleValues() == [12, 15, 18, 21, 24, 27])
        #expect(records["expanded"]?.doubleValues() == [1, 2, 3, 1, 2, 3])
        #expect(records["scalar"]?.shape == [])
        #expect(records["empty"]?.bytes.isEmpty == true)
    }

    @Test func findsStateDictNestedInTrainingCheckpoint() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: StateDictFixtures.url("checkpoint.pth"))
        let expected = try StateDictFixtures.expectedCheckpoint()
        expectRecords(try checkpoint.stateDict(), match: expected.model)
        expectRecords(try checkpoint.stateDict(at: ["model"]), match: expected.model)
    }

    @Test func exposesTheRestOfTheCheckpoint() throws {
        let root = try TorchCheckpoint(contentsOf: StateDictFixtures.url("checkpoint.pth")).root
        guard case .int(3) = root["epoch"], case .float(0.875) = root["best_accuracy"],
            case .string("tiny") = root["name"]
        else {
            Issue.record("scalars: \(root.stringKeys)")
            return
        }

        guard case .tuple(let numbers) = root["numbers"], numbers.count == 6,
            case .bool(true) = numbers[0], case .none = numbers[1], case .int(-5) = numbers[2],
            case .int(-(1 << 40)) = numbers[3], case .int(300) = numbers[4], case .int(70000) = numbers[5]
        else {
            Issue.record("numbers: \(String(describing: root["numbers"]))")
            return
        }

        guard case .list(let groups) = root["optimizer"]?["param_groups"], case .float(0.1) = groups.first?["lr"],
            case .dictionary(let state) = root["optimizer"]?["state"], case .int(0) = state.first?.key
        else {
            Issue.record("optimizer: \(String(describing: root["optimizer"]))")
            return
        }
        guard case .tensor(let momentum) = state.first?.value["momentum_buffer"] else {
            Issue.record("no momentum buffer")
            return
        }
        expectRecord(momentum, matches: try StateDictFixtures.expectedCheckpoint().momentumBuffer, "momentum_buffer")

        // An nn.Parameter and a tensor with a Python attribute read as plain tensors.
        let extras = try #require(root["extras"]?.tensorRecords)
        #expect(extras["parameter"]?.doubleValues() == [1, -1])
        #expect(extras["tagged"]?.doubleValues() == [4, 5])
    }

    @Test func namesTheKeysWhenAKeyPathIsWrong() throws {
        let checkpoint = try TorchCheckpoint(contentsOf: StateDictFixtures.url("checkpoint.pth"))
        let error = try #require(throws: StateDictError.self) { try checkpoint.stateDict(at: ["weights"]) }
        #expect(error.reason.contains("no key \"weights\""))
        #expect(error.reason.contains("optimizer"))
        #expect(throws: StateDictError.self) { try checkpoint.stateDict(at: ["optimizer"]) }
    }

    @Test func refusesPicklesThatCallCode() throws {
        let url = StateDictFixtures.url("malicious.pth")
        let error = try #require(throws: StateDictError.self) { try TorchCheckpoint(contentsOf: url) }
        #expect(error == .refusedGlobal(path: url.path, name: "posix.system"))
        #expect(
            error.description.hasSuffix(
                "refusing to load posix.system: only plain state dicts are read; "
                    + "this is the same contract as torch.load(weights_only=True)"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/statedict-pwned"))
    }

    @Test func refusesFilesThatAreNotZipCheckpoints() throws {
        let legacy = Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E])
        let legacyError = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(contents: legacy, path: "legacy.pth")
        }
        #expect(legacyError.reason.contains("legacy"))

        let safetensors = try StateDictFixtures.data("tiny.safetensors")
        #expect(throws: StateDictError.self) { try TorchCheckpoint(contents: safetensors, path: "x.pth") }

        // A zip archive without a data.pkl record.
        let noPickle = try StateDictFixtures.data("tiny.pth").replacingOccurrences(of: "data.pkl", with: "data.pkX")
        let noPickleError = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(contents: noPickle, path: "x.pth")
        }
        #expect(noPickleError.reason.contains("no <name>/data.pkl"))
    }

    @Test func recognisesTorchScriptArchives() throws {
        let error = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(contentsOf: StateDictFixtures.url("scripted.pt"))
        }
        guard case .unsupported = error else {
            Issue.record("\(error)")
            return
        }
        #expect(error.reason.contains("TorchScript"))
    }

    @Test func missingFileIsAnIOError() throws {
        let error = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(contentsOf: URL(fileURLWithPath: "/nonexistent/model.pth"))
        }
        guard case .io(let path, _) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(path == "/nonexistent/model.pth")
    }

    /// Cutting the file anywhere must give an error, never a crash or a
    /// silently shorter state dict.
    @Test func everyTruncationIsAnError() throws {
        let whole = try StateDictFixtures.data("big-endian.pth")
        for length in 0..<whole.count {
            #expect(throws: StateDictError.self, "length \(length)") {
                try TorchCheckpoint(contents: whole.prefix(length), path: "cut.pth")
            }
        }
    }

    @Test func detectsCorruptedStorageBytes() throws {
        var data = try StateDictFixtures.data("tiny.pth")
        let archive = try ZipArchive(contents: data, path: "tiny.pth")
        let storage = try #require(archive.entries.first { $0.name == "tiny/data/0" })
        data[storage.dataRange.lowerBound] ^= 0xFF
        let error = try #require(throws: StateDictError.self) { try TorchCheckpoint(contents: data, path: "tiny.pth") }
        #expect(error.reason.contains("checksum"))
    }

    @Test func refusesCompressedEntries() throws {
        var data = try StateDictFixtures.data("tiny.pth")
        // Set the compression method of the first central-directory header to deflate.
        let signature = Data([0x50, 0x4B, 0x01, 0x02])
        let header = try #require(data.range(of: signature)).lowerBound
        data[header + 10] = 8
        let error = try #require(throws: StateDictError.self) { try TorchCheckpoint(contents: data, path: "z.pth") }
        guard case .unsupported = error else {
            Issue.record("\(error)")
            return
        }
        #expect(error.reason.contains("compressed"))
    }
}

extension Data {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> Data {
        var result = self
        let (from, to) = (Data(target.utf8), Data(replacement.utf8))
        var start = result.startIndex
        while let range = result.range(of: from, in: start..<result.endIndex) {
            result.replaceSubrange(range, with: to)
            start = range.upperBound
        }
        return result
    }
}

@Suite("hostile checkpoints")
struct HostileCheckpointTests {
    /// Forty lists each holding the previous one twice: 2⁴⁰ values as a tree.
    @Test func refusesPicklesThatExpandExponentially() throws {
        var pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for level in UInt8(0)..<40 { pickle += [0x5D, 0x28, 0x68, level, 0x68, level, 0x65, 0x71, level + 1] }
        pickle.append(0x2E)
        let error = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(contents: StoredZip.checkpoint(pickle: pickle), path: "bomb.pth")
        }
        #expect(error.reason.contains("expands to more than"))
    }

    @Test func refusesSelfReferencingContainers() throws {
        // l = []; l.append(l)
        let pickle: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        let error = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(contents: StoredZip.checkpoint(pickle: pickle), path: "cycle.pth")
        }
        #expect(error.reason.contains("nest deeper"))
    }

    @Test func reportsUnknownOpcodesWithTheirOffset() throws {
        let error = try #require(throws: StateDictError.self) {
            try TorchCheckpoint(
                contents: StoredZip.checkpoint(pickle: [0x80, 0x02, 0x7D, 0xFE, 0x2E]), path: "odd.pth")
        }
        #expect(
            error == .malformed(path: "odd.pth", reason: "archive/data.pkl: unknown opcode 0xfe (at offset 3)"))
    }

    @Test func refusesMissingStorages() throws {
        // {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 2), 0, (2,), (1,), False, None)}
        var pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x8C, 0x01, 0x77]
        pickle += [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28]
        pickle += [0x28, 0x8C, 0x07] + Array("storage".utf8) + [0x63] + Array("torch\nFloatStorage\n".utf8)
        pickle += [0x8C, 0x01, 0x30, 0x8C, 0x03] + Array("cpu".utf8) + [0x4B, 0x02, 0x74, 0x51]
        pickle += [0x4B, 0x00, 0x4B, 0x02, 0x85, 0x4B, 0x01, 0x85, 0x89, 0x4E, 0x74, 0x52, 0x73, 0x2E]

        let present = StoredZip.checkpoint(pickle: pickle, storages: ["0": Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0x40])])
        let records = try TorchCheckpoint(contents: present, path: "ok.pth").stateDict()
        #expect(records["w"]?.doubleValues() == [1, 2])

        let missing = StoredZip.checkpoint(pickle: pickle)
        let error = try #require(throws: StateDictError.self) { try TorchCheckpoint(contents: missing, path: "x.pth") }
        #expect(error.reason.contains("archive/data/0 is missing"))
    }
}
