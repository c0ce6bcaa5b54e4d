/// Just enough of the protobuf wire format to write TensorBoard's `Event` messages and ONNX
/// models: a hand-written encoder of ~80 lines rather than swift-protobuf and the generated
/// code of both schemas (tens of thousands of lines, from a registry the bootstrap does not use).
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

    /// A repeated int64 field, packed: one length-delimited run of varints.
    mutating func append(field: UInt64, packedInt64s values: [Int64]) {
        var run = ProtobufWriter()
        for value in values { run.appendVarint(UInt64(bitPattern: value)) }
        append(field: field, bytes: run.bytes)
    }

    /// A nested message, written by `body` into a writer of its own.
    mutating func append(field: UInt64, message body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        append(field: field, bytes: nested.bytes)
    }

    private mutating func appendKey(_ field: UInt64, _ wireType: WireType) {
        appendVarint(field << 3 | wireType.rawValue)
    }

    private mutating func appendLittleEndian(_ value: some FixedWidthInteger) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
