public import Foundation

/// The data a torch checkpoint holds: a state dict, or a training checkpoint
/// that nests one beside epochs, optimiser state and the like.
///
/// Only what `torch.load(weights_only=True)` would accept can appear, so the
/// cases mirror Python's plain data types plus tensors.
public indirect enum CheckpointValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([CheckpointValue])
    case list([CheckpointValue])
    /// A `dict` or `OrderedDict`, in insertion order. Keys are usually strings
    /// but an optimiser's state is keyed by parameter index.
    case dictionary([(key: CheckpointValue, value: CheckpointValue)])
    case tensor(TensorRecord)

    /// The value under a string key of a dictionary; `nil` for other values.
    public subscript(key: String) -> CheckpointValue? {
        guard case .dictionary(let pairs) = self else { return nil }
        return pairs.first { pair in
            if case .string(key) = pair.key { true } else { false }
        }?.value
    }

    /// The string keys of a dictionary, in order; empty for other values.
    public var stringKeys: [String] {
        guard case .dictionary(let pairs) = self else { return [] }
        return pairs.compactMap { pair in
            if case .string(let key) = pair.key { key } else { nil }
        }
    }

    /// The records of a dictionary that maps strings to tensors, which is
    /// what a state dict is; `nil` for any other value.
    public var tensorRecords: StateDictRecords? {
        guard case .dictionary(let pairs) = self else { return nil }
        var records = StateDictRecords()
        for pair in pairs {
            guard case .string(let key) = pair.key, case .tensor(let record) = pair.value else { return nil }
            records[key] = record
        }
        return records
    }
}
