/// The JSON of a safetensors header.
///
/// Written by hand rather than with `JSONSerialization` for three reasons the
/// format cares about: object keys keep their order, a repeated key is an error
/// instead of silently winning, and numbers keep their text so sizes are read as
/// exact integers. Encoding matches serde_json's compact output, which is what
/// the reference writer produces.
indirect enum HeaderJSON {
    case null
    case bool(Bool)
    /// A number as written, for the reader to convert exactly.
    case number(String)
    case string(String)
    case array([HeaderJSON])
    /// Members in the order written.
    case object([(key: String, value: HeaderJSON)])

    static func integer(_ value: Int) -> HeaderJSON { .number(String(value)) }
}

// MARK: - Encoding

extension HeaderJSON {
    /// Compact JSON text: no spaces, non-ASCII written as UTF-8, `/` unescaped.
    var encoded: String {
        var output = ""
        encode(into: &output)
        return output
    }

    private func encode(into output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let text): output += text
        case .string(let text): Self.encode(string: text, into: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.encode(into: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (index, pair) in object.enumerated() {
                if index > 0 { output += "," }
                Self.encode(string: pair.key, into: &output)
                output += ":"
                pair.value.encode(into: &output)
            }
            output += "}"
        }
    }

    private static func encode(string: String, into output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

// MARK: - Parsing

extension HeaderJSON {
    /// Parses one JSON value that must fill `bytes` (surrounding whitespace
    /// allowed). Throws a message, not a `StateDictError`, because the caller
    /// knows which file and section it was reading.
    init(parsing bytes: [UInt8]) throws(HeaderJSONError) {
        var parser = Parser(bytes: bytes)
        self = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the value") }
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        /// Headers nest three levels deep; anything far deeper is hostile.
        static let maximumDepth = 32

        func error(_ message: String) -> HeaderJSONError {
            HeaderJSONError(message: "\(message) at byte \(position)")
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func parseValue(depth: Int) throws(HeaderJSONError) -> HeaderJSON {
            guard depth < Self.maximumDepth else { throw error("nesting too deep") }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of JSON") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw error("unexpected character")
            }
        }

        mutating func expect(_ word: String) throws(HeaderJSONError) {
            let utf8 = Array(word.utf8)
            guard bytes.count - position >= utf8.count, Array(bytes[position..<position + utf8.count]) == utf8 else {
                throw error("expected \(word)")
            }
            position += utf8.count
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func parseObject(depth: Int) throws(HeaderJSONError) -> HeaderJSON {
            position += 1
            var pairs: [(key: String, value: HeaderJSON)] = []
            var seen: Set<String> = []
            if consume(UInt8(ascii: "}")) { return .object(pairs) }
            repeat {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw error("expected a string key")
                }
                let key = try parseString()
                guard seen.insert(key).inserted else { throw error("duplicate key \"\(key)\"") }
                guard consume(UInt8(ascii: ":")) else { throw error("expected ':'") }
                pairs.append((key, try parseValue(depth: depth + 1)))
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "}")) else { throw error("expected ',' or '}'") }
            return .object(pairs)
        }

        mutating func parseArray(depth: Int) throws(HeaderJSONError) -> HeaderJSON {
            position += 1
            var elements: [HeaderJSON] = []
            if consume(UInt8(ascii: "]")) { return .array(elements) }
            repeat {
                elements.append(try parseValue(depth: depth + 1))
            } while consume(UInt8(ascii: ","))
            guard consume(UInt8(ascii: "]")) else { throw error("expected ',' or ']'") }
            return .array(elements)
        }

        /// Scans `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?` and returns its text.
        mutating func parseNumber() throws(HeaderJSONError) -> String {
            let start = position
            func isDigit(at index: Int) -> Bool {
                index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
            }
            func skipDigits() throws(HeaderJSONError) {
                guard isDigit(at: position) else { throw error("invalid number") }
                while isDigit(at: position) { position += 1 }
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            if position < bytes.count, bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                try skipDigits()
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                try skipDigits()
            }
            if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
                    position += 1
                }
                try skipDigits()
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func parseString() throws(HeaderJSONError) -> String {
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var run = position  // start of the current unescaped run
            func flush(to end: Int) throws(HeaderJSONError) {
                guard let text = String(validating: bytes[run..<end], as: UTF8.self) else {
                    throw error("string is not valid UTF-8")
                }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while true {
                guard position < bytes.count else { throw error("unterminated string") }
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    try flush(to: position)
                    position += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush(to: position)
                    position += 1
                    scalars.append(try parseEscape())
                    run = position
                case ..<0x20:
                    throw error("control character in string")
                default:
                    position += 1
                }
            }
        }

        mutating func parseEscape() throws(HeaderJSONError) -> Unicode.Scalar {
            guard position < bytes.count else { throw error("unterminated escape") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let unit = try parseHexUnit()
                if (0xD800..<0xDC00).contains(unit) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate") }
                    position += 2
                    let low = try parseHexUnit()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                    let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    guard let scalar = Unicode.Scalar(value) else { throw error("invalid escape") }
                    return scalar
                }
                guard let scalar = Unicode.Scalar(unit) else { throw error("unpaired surrogate") }
                return scalar
            default:
                throw error("invalid escape")
            }
        }

        mutating func parseHexUnit() throws(HeaderJSONError) -> UInt32 {
            let digits = bytes.count - position >= 4 ? bytes[position..<position + 4] : []
            guard digits.count == 4, digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                let unit = UInt32(String(decoding: digits, as: UTF8.self), radix: 16)
            else { throw error("invalid \\u escape") }
            position += 4
            return unit
        }
    }
}

/// Why a header is not valid JSON; turned into a `StateDictError` by the caller.
struct HeaderJSONError: Error {
    let message: String
}
