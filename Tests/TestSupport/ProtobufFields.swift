/// A generic protobuf decoder, written from the wire-format spec for the tests: the fields
/// of any message by number, in order, for checking what Headroom's encoder wrote
/// (TensorBoard events, ONNX models) without sharing its code.
public enum ProtobufFields {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public enum Field {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes([UInt8])
        case fixed32(UInt32)
    }

    /// Fields by number, in order.
    public static func decode(_ message: [UInt8]) throws -> [(number: UInt64, field: Field)] {
        var result: [(UInt64, Field)] = []
        var offset = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < message.count, shift < 64 else { throw Failure(description: "truncated varint") }
                let byte = message[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func take(_ count: Int) throws -> [UInt8] {
            guard count >= 0, offset + count <= message.count else { throw Failure(description: "truncated field") }
            defer { offset += count }
            return Array(message[offset..<offset + count])
        }
        func integer(_ bytes: [UInt8]) -> UInt64 {
            bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        while offset < message.count {
            let key = try varint()
            switch key & 7 {
            case 0: result.append((key >> 3, .varint(try varint())))
            case 1: result.append((key >> 3, .fixed64(integer(try take(8)))))
            case 2: result.append((key >> 3, .bytes(try take(Int(try varint())))))
            case 5: result.append((key >> 3, .fixed32(UInt32(integer(try take(4))))))
            default: throw Failure(description: "wire type \(key & 7)")
            }
        }
        return result
    }

    /// The varints of a packed repeated field's bytes.
    public static func packedVarints(_ bytes: [UInt8]) throws -> [UInt64] {
        var values: [UInt64] = []
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            value |= UInt64(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 {
                values.append(value)
                (value, shift) = (0, 0)
            }
        }
        guard shift == 0 else { throw Failure(description: "truncated packed varint") }
        return values
    }
}
