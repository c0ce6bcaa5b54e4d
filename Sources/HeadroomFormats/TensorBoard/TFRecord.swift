/// TFRecord framing: length, masked CRC of the length, payload, masked CRC of the payload.
enum TFRecord {
    static func framed(_ payload: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { length.append(contentsOf: $0) }
        var record = length
        record.reserveCapacity(payload.count + 16)
        appendLittleEndian(CRC32C.masked(length), to: &record)
        record.append(contentsOf: payload)
        appendLittleEndian(CRC32C.masked(payload), to: &record)
        return record
    }

    private static func appendLittleEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
