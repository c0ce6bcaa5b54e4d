/// Named tensor records in the order their file holds them.
///
/// Behaves like an ordered dictionary: keys are unique, assigning to an existing
/// key replaces its record in place, and iteration follows insertion order. The
/// order matters because PyTorch's `load_state_dict` and its error messages, and
/// people reading a listing, follow the module's own order.
public struct StateDictRecords: Sendable, Equatable {
    public typealias Element = (key: String, record: TensorRecord)

    private var entries: [Element] = []
    private var positions: [String: Int] = [:]

    public init() {}

    /// The keys, in order.
    public var keys: [String] { entries.map(\.key) }

    /// The record stored under `key`; assigning `nil` removes it.
    public subscript(key: String) -> TensorRecord? {
        get { positions[key].map { entries[$0].record } }
        set {
            switch (positions[key], newValue) {
            case (let position?, let record?):
                entries[position].record = record
            case (nil, let record?):
                positions[key] = entries.count
                entries.append((key, record))
            case (let position?, nil):
                entries.remove(at: position)
                positions[key] = nil
                for index in position..<entries.count { positions[entries[index].key] = index }
            case (nil, nil):
                break
            }
        }
    }

    /// The sum of the records' byte counts.
    public var byteCount: Int { entries.reduce(0) { $0 + $1.record.bytes.count } }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.record == $1.record }
    }
}

extension StateDictRecords: RandomAccessCollection {
    public var startIndex: Int { entries.startIndex }
    public var endIndex: Int { entries.endIndex }
    public subscript(position: Int) -> Element { entries[position] }
}

extension StateDictRecords: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, TensorRecord)...) {
        for (key, record) in elements {
            precondition(self[key] == nil, "duplicate key '\(key)' in a StateDictRecords literal")
            self[key] = record
        }
    }
}
