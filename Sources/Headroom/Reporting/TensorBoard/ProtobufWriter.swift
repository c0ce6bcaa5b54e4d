/// Just enough of the protobuf wire format to write TensorBoard's `Event` messages.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    private enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// int64 fields are plain varints of the two's-complement value (negatives take ten bytes).
    mutating func append(field: UInt64, int64 value: Int64) {
        appendKey(field, .varint)
        appendVarint(UInt64(bitPattern: value))
    }

    mutating func append(field: UInt64, double value: Double) {
        appendKey(field, .fixed64)
        appendLittleEndian(value.bitPattern)
    }

    mutating func append(field: UInt64, float value: Float) {
        appendKey(field, .fixed32)
        appendLittleEndian(value.bitPattern)
    }

    mutating func append(field: UInt64, string value: String) {
        append(field: field, bytes: Array(value.utf8))
    }

    /// A nested message or raw bytes.
    mutating func append(field: UInt64, bytes value: [UInt8]) {
        appendKey(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    private mutating func appendKey(_ field: UInt64, _ wireType: WireType) {
        appendVarint(field << 3 | wireType.rawValue)
    }

    private mutating func appendLittleEndian(_ value: some FixedWidthInteger) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
