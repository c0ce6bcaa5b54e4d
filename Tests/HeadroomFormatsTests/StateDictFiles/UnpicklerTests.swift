import Foundation
import Testing

@testable import HeadroomFormats

@Suite("restricted unpickler")
struct UnpicklerTests {
    private func unpickle(_ bytes: [UInt8]) throws(StateDictError) -> PickleObject {
        var unpickler = Unpickler(Data(bytes), path: "test.pkl", context: "data.pkl") { _ throws(PickleError) in
            throw PickleError("no storages here")
        }
        return try unpickler.load()
    }

    /// `PROTO 2`, then `body`, then `STOP`.
    private func pickle(_ body: [UInt8]) -> [UInt8] { [0x80, 0x02] + body + [0x2E] }

    private func expectMalformed(
        _ bytes: [UInt8], mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let value = try unpickle(bytes)
            Issue.record("expected an error, got \(value.kind)", sourceLocation: sourceLocation)
        } catch {
            guard case .malformed(let path, let reason) = error else {
                Issue.record("expected malformed, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(path == "test.pkl", sourceLocation: sourceLocation)
            #expect(reason.contains(text), "\(reason)", sourceLocation: sourceLocation)
        }
    }

    @Test func unknownOpcodeIsAnError() {
        expectMalformed(pickle([0xFF]), mentioning: "data.pkl: unknown opcode 0xff (at offset 2)")
    }

    @Test func opcodesOfArbitraryObjectsAreNamedAndRefused() {
        // NEWOBJ would call cls.__new__.
        expectMalformed(pickle([0x29, 0x29, 0x81]), mentioning: "NEWOBJ")
    }

    @Test(arguments: [
        ("os", "system"), ("builtins", "eval"), ("torch", "load"), ("collections", "defaultdict"),
        ("torch._utils", "_rebuild_qtensor"), ("numpy.core.multiarray", "scalar"),
    ])
    func refusesGlobalsOutsideTheAllowList(module: String, name: String) {
        // Both spellings: GLOBAL (protocol 2) and STACK_GLOBAL (protocol 4).
        let global = [0x63] + Array("\(module)\n\(name)\n".utf8)
        let stackGlobal =
            [0x8C, UInt8(module.utf8.count)] + Array(module.utf8) + [0x8C, UInt8(name.utf8.count)] + Array(name.utf8)
            + [0x93]
        for body in [global, stackGlobal] {
            #expect(throws: StateDictError.refusedGlobal(path: "test.pkl", name: "\(module).\(name)")) {
                try unpickle(pickle(body + [0x29, 0x52]))
            }
        }
    }

    @Test func readsIntegersOfEveryWidth() throws {
        let cases: [([UInt8], Int)] = [
            ([0x4B, 0xFF], 255),  // BININT1
            ([0x4D, 0x34, 0x12], 0x1234),  // BININT2
            ([0x4A, 0xFE, 0xFF, 0xFF, 0xFF], -2),  // BININT
            ([0x8A, 0x00], 0),  // LONG1, zero bytes
            ([0x8A, 0x01, 0xFF], -1),
            ([0x8A, 0x02, 0x00, 0x80], -0x8000),
            ([0x8A, 0x03, 0x00, 0x80, 0x00], 0x8000),
            ([0x8A, 0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 0xFF], -(1 << 40) + 1),
            ([0x8A, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], Int.max),
            ([0x8A, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xFF], Int.min),
            ([0x8B, 0x01, 0x00, 0x00, 0x00, 0x05], 5),  // LONG4
        ]
        for (body, expected) in cases {
            guard case .int(let value) = try unpickle(pickle(body)) else {
                Issue.record("\(body) did not give an int")
                continue
            }
            #expect(value == expected, "\(body)")
        }
        expectMalformed(pickle([0x8A, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]), mentioning: "wider than 64 bits")
        expectMalformed(pickle([0x8A, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00]), mentioning: "wider than 64 bits")
    }

    @Test func readsBigEndianFloats() throws {
        guard case .float(let value) = try unpickle(pickle([0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0])) else {
            Issue.record("not a float")
            return
        }
        #expect(value == 1.5)
    }

    /// A dict memoized before it is filled must be seen filled through the memo.
    @Test func memoizedContainersShareLaterMutations() throws {
        let body: [UInt8] = [
            0x7D, 0x71, 0x00,  // EMPTY_DICT, BINPUT 0
            0x8C, 0x01, 0x61, 0x4B, 0x01, 0x73,  // 'a': 1, SETITEM
            0x5D, 0x68, 0x00, 0x61,  // EMPTY_LIST, BINGET 0, APPEND -> [dict]
        ]
        guard case .list(let list) = try unpickle(pickle(body)), case .dictionary(let dictionary) = list.elements.first,
            case .string("a") = dictionary.pairs.first?.key, case .int(1) = dictionary.pairs.first?.value
        else {
            Issue.record("the list does not hold the filled dict")
            return
        }
    }

    @Test func malformedStreamsAreErrors() {
        expectMalformed([0x80, 0x02], mentioning: "truncated")  // no STOP
        expectMalformed(pickle([0x74]), mentioning: "no MARK")  // TUPLE without MARK
        expectMalformed(pickle([0x30]), mentioning: "underflow")  // POP on empty stack
        expectMalformed(pickle([0x68, 0x07]), mentioning: "memo entry 7")  // BINGET of nothing
        expectMalformed(pickle([0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61]), mentioning: "truncated")  // huge BINUNICODE
        expectMalformed(pickle([0x8C, 0x02, 0xC3, 0x28]), mentioning: "UTF-8")
        expectMalformed(pickle([0x80, 0x06]), mentioning: "protocol 6")
        expectMalformed(pickle([0x7D, 0x5D, 0x4B, 0x01, 0x73]), mentioning: "not hashable")  // {[]: 1}
        expectMalformed(pickle([0x4B, 0x01, 0x4B, 0x02, 0x61]), mentioning: "not a list")
        expectMalformed(pickle([0x29, 0x51]), mentioning: "no storages here")  // BINPERSID
    }

    /// Values nested 100,000 levels deep (a 100 KB file) are refused while they are built:
    /// freeing them afterwards would overflow the stack (the drill's segfault).
    @Test func deepNestingIsRefusedWhileUnpickling() {
        let deep = 100_000
        // ((((…),),),): TUPLE1 over and over.
        expectMalformed(pickle([0x29] + Array(repeating: 0x85, count: deep)), mentioning: "more than 256 levels")
        // [[[[…]]]] through MARK … LIST.
        expectMalformed(pickle(Array(repeating: 0x28, count: deep) + Array(repeating: 0x6C, count: deep)), mentioning: "more than 256 levels")
        // A chain of lists built top down, each appended into the one before and then grown
        // through the memo: EMPTY_LIST, then (EMPTY_LIST, BINPUT 0, APPEND, BINGET 0)…
        let link: [UInt8] = [0x5D, 0x71, 0x00, 0x61, 0x68, 0x00]
        let chain: [UInt8] = [0x5D] + Array(Array(repeating: link, count: 300).joined())
        expectMalformed(pickle(chain), mentioning: "placed inside another value")
        // 200 levels, as deep as anything a state dict could hold and more, are fine.
        #expect(throws: Never.self) { try unpickle(pickle([0x29] + Array(repeating: 0x85, count: 200))) }
    }

    /// Flipping any byte of a real state-dict pickle must give a value or an
    /// error, never a crash or a hang.
    @Test func survivesEveryByteFlip() throws {
        let archive = try ZipArchive(contents: try StateDictFixtures.data("tiny.pth"), path: "tiny.pth")
        let pickle = [UInt8](try #require(try archive.contents(of: "tiny/data.pkl")))
        let storage: Unpickler.PersistentLoad = { _ in
            .storage(TorchStorageReference(key: "0", dtype: .float32, elementCount: 4))
        }
        for position in pickle.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var corrupted = pickle
                corrupted[position] ^= mask
                var unpickler = Unpickler(Data(corrupted), path: "x", context: "x", persistentLoad: storage)
                _ = try? unpickler.load()
            }
        }
    }
}

@Suite("tensor views")
struct TorchTensorViewTests {
    private let storage = TorchStorageReference(key: "0", dtype: .int16, elementCount: 6)
    private let bytes = Data([1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0])

    @Test func gathersStridedViews() throws {
        let view = TorchTensorView(storage: storage, offset: 1, shape: [2, 2], strides: [1, 3])
        #expect(try view.materialized(from: bytes, isBigEndian: false).doubleValues() == [2, 5, 3, 6])
    }

    @Test func refusesViewsReachingPastTheStorage() {
        for (offset, shape, strides) in [
            (0, [7], [1]), (5, [2], [1]), (0, [2, 2], [5, 1]), (-1, [1], [1]), (0, [2], [-1]),
        ] {
            let view = TorchTensorView(storage: storage, offset: offset, shape: shape, strides: strides)
            #expect(throws: PickleError.self, "\(offset) \(shape) \(strides)") {
                try view.materialized(from: bytes, isBigEndian: false)
            }
        }
        let mismatched = TorchTensorView(storage: storage, offset: 0, shape: [2], strides: [1])
        #expect(throws: PickleError.self) { try mismatched.materialized(from: bytes.prefix(4), isBigEndian: false) }
    }

    @Test func refusesBroadcastViewsThatWouldExplode() {
        let view = TorchTensorView(storage: storage, offset: 0, shape: [1 << 20, 1 << 20], strides: [0, 0])
        #expect(throws: PickleError.self) { try view.materialized(from: bytes, isBigEndian: false) }
    }

    @Test func swapsBigEndianElements() throws {
        let view = TorchTensorView(storage: storage, offset: 0, shape: [2], strides: [1])
        #expect(try view.materialized(from: bytes, isBigEndian: true).doubleValues() == [256, 512])
    }
}
