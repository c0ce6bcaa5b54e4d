/// Any JSON value, for files whose shape is open-ended (config.json).
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before the numbers, Int before Double, so 1 stays 1 and true stays true.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Leaf values keyed by their dotted path ("optimizer.lr"), sorted by key.
    /// Arrays are leaves: a table row of `[1, 2]` reads better than rows `x.0`, `x.1`.
    func flattened(prefix: String = "") -> [(key: String, value: JSONValue)] {
        guard case .object(let members) = self else { return [(prefix, self)] }
        if members.isEmpty, !prefix.isEmpty { return [(prefix, self)] }
        return members.keys.sorted().flatMap { key in
            members[key]!.flattened(prefix: prefix.isEmpty ? key : "\(prefix).\(key)")
        }
    }

    /// Compact text for a table cell; strings without quotes at the top level.
    var displayText: String {
        switch self {
        case .string(let value): value
        default: jsonText
        }
    }

    private var jsonText: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .integer(let value): String(value)
        case .number(let value): value.isFinite ? "\(value)" : "null"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[" + values.map(\.jsonText).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.keys.sorted().map { "\"\($0)\": \(members[$0]!.jsonText)" }.joined(separator: ", ") + "}"
        }
    }
}
