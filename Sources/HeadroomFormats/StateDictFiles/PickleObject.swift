import Foundation

/// A value on the restricted unpickler's stack.
///
/// Lists and dictionaries are reference types because a pickle memoizes a
/// container before filling it (BINPUT, then SETITEMS): every later reference
/// must see the filled container, as in Python.
enum PickleObject {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleObject])
    case list(PickleList)
    case dictionary(PickleDictionary)
    /// A callable or type from the allow-list, not yet called.
    case global(PickleGlobal)
    /// What a persistent ID resolved to: a torch storage blob in the archive.
    case storage(TorchStorageReference)
    /// A tensor rebuilt from a storage, not yet copied out.
    case tensor(TorchTensorView)

    /// A short name of the kind of value, for error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dictionary: "dict"
        case .global(let global): global.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

/// What the unpickler tracks of a mutable container to bound how deeply values nest.
protocol PickleContainer: AnyObject {
    /// 1 + the depth of the deepest element (1 when empty or holding scalars).
    var depth: Int { get set }
    /// Placed inside another value: it must not grow any more.
    var isNested: Bool { get set }
}

final class PickleList: PickleContainer {
    var elements: [PickleObject] = []
    var depth = 1
    var isNested = false
    init(_ elements: [PickleObject] = []) { self.elements = elements }
}

/// An insertion-ordered dictionary with Python's rule that assigning an
/// existing key replaces the value in place.
final class PickleDictionary: PickleContainer {
    var depth = 1
    var isNested = false
    private(set) var pairs: [(key: PickleObject, value: PickleObject)] = []
    private var positions: [Key: Int] = [:]

    /// The hashable keys state dicts and checkpoints use.
    indirect enum Key: Hashable {
        case none
        case bool(Bool)
        case int(Int)
        case float(UInt64)
        case string(String)
        case bytes(Data)
        case tuple([Key])

        init?(_ object: PickleObject) {
            switch object {
            case .none: self = .none
            case .bool(let value): self = .bool(value)
            case .int(let value): self = .int(value)
            case .float(let value): self = .float(value.bitPattern)
            case .string(let value): self = .string(value)
            case .bytes(let value): self = .bytes(value)
            case .tuple(let elements):
                var keys: [Key] = []
                for element in elements {
                    guard let key = Key(element) else { return nil }
                    keys.append(key)
                }
                self = .tuple(keys)
            default: return nil
            }
        }
    }

    /// Returns `false` when `key` is not hashable (a list, dict or tensor).
    func set(_ value: PickleObject, forKey key: PickleObject) -> Bool {
        guard let hashable = Key(key) else { return false }
        if let position = positions[hashable] {
            pairs[position].value = value
        } else {
            positions[hashable] = pairs.count
            pairs.append((key, value))
        }
        return true
    }
}
