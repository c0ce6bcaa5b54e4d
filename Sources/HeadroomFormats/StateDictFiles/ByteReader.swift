import Foundation

/// A cursor over bytes whose every read is bounds-checked, so that a truncated
/// or corrupted file becomes a `malformed` error instead of a crash.
struct ByteReader {
    let data: Data
    /// The file the bytes came from, for error messages.
    let path: String
    /// Offset of the next read, counted from the start of `data`.
    private(set) var offset = 0
    /// What is being read, for error messages ("zip archive", …); may be
    /// empty when the caller adds its own.
    let context: String

    init(_ data: Data, path: String, context: String) {
        self.data = data.startIndex == 0 ? data : Data(data)
        self.path = path
        self.context = context
    }

    var remaining: Int { data.count - offset }

    private var prefix: String { context.isEmpty ? "" : "\(context): " }
    var isAtEnd: Bool { remaining == 0 }

    mutating func seek(to position: Int) throws(StateDictError) {
        guard position >= 0, position <= data.count else {
            throw .malformed(path: path, reason: "\(prefix)offset \(position) is outside the \(data.count) bytes")
        }
        offset = position
    }

    mutating func skip(_ count: Int) throws(StateDictError) {
        try seek(to: try position(after: count))
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(StateDictError) -> T {
        let end = try position(after: MemoryLayout<T>.size)
        let value = data.withUnsafeBytes { $0.loadLittleEndian(T.self, at: offset) }
        offset = end
        return value
    }

    /// Reads an integer stored big-endian (pickle's BINFLOAT is the only user).
    mutating func readBigEndian<T: FixedWidthInteger>(_ type: T.Type) throws(StateDictError) -> T {
        T(bigEndian: try read(T.self).littleEndian)
    }

    mutating func readBytes(_ count: Int) throws(StateDictError) -> Data {
        let end = try position(after: count)
        defer { offset = end }
        return data.subdata(in: offset..<end)
    }

    /// Reads `count` bytes as UTF-8 text, refusing invalid sequences.
    mutating func readString(_ count: Int) throws(StateDictError) -> String {
        let bytes = try readBytes(count)
        guard let string = String(data: bytes, encoding: .utf8) else {
            throw .malformed(path: path, reason: "\(prefix)text at offset \(offset - count) is not valid UTF-8")
        }
        return string
    }

    /// Reads bytes up to (not including) `delimiter` and skips the delimiter.
    mutating func readLine(delimiter: UInt8 = 0x0A) throws(StateDictError) -> String {
        guard let end = data[offset...].firstIndex(of: delimiter) else {
            throw .malformed(path: path, reason: "\(prefix)unterminated line at offset \(offset)")
        }
        let line = try readString(end - offset)
        offset += 1
        return line
    }

    private func position(after count: Int) throws(StateDictError) -> Int {
        guard count >= 0, count <= remaining else {
            throw .malformed(
                path: path,
                reason: "\(prefix)needs \(count) bytes at offset \(offset) but only \(remaining) remain (truncated?)"
            )
        }
        return offset + count
    }
}
