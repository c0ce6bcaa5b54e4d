public import Foundation
import TorchTypes

/// A file written by `torch.save` (the zip format, the default since PyTorch
/// 1.6), read without executing anything.
///
/// The archive holds `<name>/data.pkl`, a pickle of the saved object, and one
/// `<name>/data/<key>` blob per storage. The pickle is read by a restricted
/// unpickler that accepts only plain data, `OrderedDict` and torch's tensor
/// rebuild functions; any other global is refused, which is the contract of
/// `torch.load(weights_only=True)`. Tensors are copied out of their storages
/// as contiguous little-endian bytes, whatever their strides, offsets or
/// sharing in the file.
public struct TorchCheckpoint: Sendable {
    public let path: String
    /// The saved object.
    public let root: CheckpointValue

    /// Reads the checkpoint at `url`.
    public init(contentsOf url: URL) throws(StateDictError) {
        try self.init(contents: try StateDictError.mappedContents(of: url), path: url.path)
    }

    /// Reads a checkpoint from its bytes; `path` only names it in errors.
    public init(contents: Data, path: String) throws(StateDictError) {
        try Self.checkIsZip(contents, path: path)
        let archive = try ZipArchive(contents: contents, path: path)
        let prefix = try Self.recordPrefix(of: archive)
        let isBigEndian = try Self.isBigEndian(archive, prefix: prefix)
        guard let pickle = try archive.contents(of: prefix + "data.pkl") else {
            throw .malformed(path: path, reason: "the archive has no \(prefix)data.pkl")
        }

        var unpickler = Unpickler(
            pickle, path: path, context: "\(prefix)data.pkl", persistentLoad: Self.storageReference)
        let object = try unpickler.load()
        var builder = CheckpointValueBuilder(archive: archive, prefix: prefix, isBigEndian: isBigEndian)
        self.path = path
        self.root = try builder.value(of: object, depth: 0)
    }

    // MARK: - Archive layout

    private static func checkIsZip(_ contents: Data, path: String) throws(StateDictError) {
        let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
        guard contents.prefix(4).elementsEqual(zipMagic) else {
            // The legacy format is a bare pickle stream, starting with PROTO.
            if contents.first == 0x80 {
                throw .unsupported(
                    path: path,
                    reason:
                        "this is the legacy torch.save format (PyTorch < 1.6 or _use_new_zipfile_serialization=False); "
                        + "load and re-save it with a current PyTorch")
            }
            throw .malformed(path: path, reason: "not a torch.save file (it is not a zip archive)")
        }
    }

    /// The `<name>/` folder every record lives in; torch names it after the
    /// file it first wrote, so it is found, not assumed.
    private static func recordPrefix(of archive: ZipArchive) throws(StateDictError) -> String {
        // TorchScript archives also hold a data.pkl, of objects that need
        // their code: say what the file is instead of refusing a global.
        if archive.entries.contains(where: { $0.name.hasSuffix("/constants.pkl") }) {
            throw .unsupported(
                path: archive.path,
                reason:
                    "this is a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead")
        }
        let candidates = archive.entries.map(\.name).filter { name in
            name.hasSuffix("/data.pkl") && name.split(separator: "/", omittingEmptySubsequences: false).count == 2
        }
        guard candidates.count == 1, let pickleName = candidates.first else {
            throw .malformed(
                path: archive.path,
                reason: candidates.isEmpty
                    ? "the archive has no <name>/data.pkl, so it was not written by torch.save"
                    : "the archive has several data.pkl records: \(candidates)")
        }
        return String(pickleName.dropLast("data.pkl".count))
    }

    private static func isBigEndian(_ archive: ZipArchive, prefix: String) throws(StateDictError) -> Bool {
        // Archives from before the record existed were written little-endian.
        guard let data = try archive.contents(of: prefix + "byteorder") else { return false }
        switch String(decoding: data, as: UTF8.self) {
        case "little": return false
        case "big": return true
        case let other: throw .malformed(path: archive.path, reason: "unknown byte order \"\(other)\"")
        }
    }

    /// torch's persistent ID for a storage: `('storage', storage_type, key, location, numel)`.
    private static func storageReference(_ id: PickleObject) throws(PickleError) -> PickleObject {
        guard case .tuple(let fields) = id, fields.count == 5, case .string("storage") = fields[0],
            case .global(.storageType(let dtype, _)) = fields[1], case .string(let key) = fields[2],
            case .string = fields[3], case .int(let count) = fields[4], count >= 0
        else { throw PickleError("persistent ID is not a torch storage reference") }
        return .storage(TorchStorageReference(key: key, dtype: dtype, elementCount: count))
    }
}

/// Turns the unpickled object graph into `CheckpointValue`s, reading each
/// storage blob once however many tensors share it.
///
/// The graph may share objects (the memo makes a DAG, even a cycle) while the
/// result is a tree, so conversion is bounded in depth and in size: a small
/// hostile pickle that references one list twice, forty levels deep, must
/// fail fast rather than expand to 2⁴⁰ values.
private struct CheckpointValueBuilder {
    let archive: ZipArchive
    let prefix: String
    let isBigEndian: Bool
    var storages: [String: Data] = [:]
    /// Tensors already copied out, so repeated references share one copy.
    var tensors: [TensorKey: TensorRecord] = [:]
    var convertedCount = 0

    struct TensorKey: Hashable {
        let storage: String
        let dtype: DType
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    /// Deep enough for any real checkpoint; a self-referencing container
    /// (legal in pickle) hits it instead of recursing forever.
    static let maximumDepth = 256
    /// Far above any real checkpoint (a ResNet-50 one with its optimiser
    /// state holds a few thousand values).
    static let maximumValueCount = 1_000_000

    mutating func value(of object: PickleObject, depth: Int) throws(StateDictError) -> CheckpointValue {
        guard depth < Self.maximumDepth else {
            throw .unsupported(path: archive.path, reason: "containers nest deeper than \(Self.maximumDepth) levels")
        }
        convertedCount += 1
        guard convertedCount <= Self.maximumValueCount else {
            throw .unsupported(
                path: archive.path,
                reason: "the pickle expands to more than \(Self.maximumValueCount) values (shared references repeated)")
        }
        switch object {
        case .none: return .none
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .float(let value): return .float(value)
        case .string(let value): return .string(value)
        case .bytes(let value): return .bytes(value)
        case .tuple(let elements): return .tuple(try values(of: elements, depth: depth))
        case .list(let list): return .list(try values(of: list.elements, depth: depth))
        case .dictionary(let dictionary):
            var pairs: [(key: CheckpointValue, value: CheckpointValue)] = []
            for (key, value) in dictionary.pairs {
                pairs.append((try self.value(of: key, depth: depth + 1), try self.value(of: value, depth: depth + 1)))
            }
            return .dictionary(pairs)
        case .tensor(let view):
            let key = TensorKey(
                storage: view.storage.key, dtype: view.storage.dtype, offset: view.offset, shape: view.shape,
                strides: view.strides)
            if let record = tensors[key] { return .tensor(record) }
            do throws(PickleError) {
                let record = try view.materialized(from: try bytes(of: view.storage), isBigEndian: isBigEndian)
                tensors[key] = record
                return .tensor(record)
            } catch {
                throw .malformed(path: archive.path, reason: error.message)
            }
        case .global, .storage:
            throw .unsupported(path: archive.path, reason: "a bare \(object.kind) is not part of a state dict")
        }
    }

    private mutating func values(of objects: [PickleObject], depth: Int) throws(StateDictError) -> [CheckpointValue] {
        var values: [CheckpointValue] = []
        for object in objects { values.append(try value(of: object, depth: depth + 1)) }
        return values
    }

    private mutating func bytes(of storage: TorchStorageReference) throws(PickleError) -> Data {
        if let cached = storages[storage.key] { return cached }
        let name = prefix + "data/" + storage.key
        let bytes: Data?
        do {
            bytes = try archive.contents(of: name)
        } catch {
            throw PickleError(error.reason)
        }
        guard let bytes else { throw PickleError("storage \(name) is missing from the archive") }
        storages[storage.key] = bytes
        return bytes
    }
}
