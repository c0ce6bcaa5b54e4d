/// A little-endian classic TIFF being written: blocks of data, then directories chained in the
/// order they are added (each directory's arrays written just before it). What SampleTIFF and
/// SlideTIFF share; not a general TIFF encoder.
struct TIFFBuilder {
    enum Kind: UInt16 {
        case ascii = 2, short = 3, long = 4, rational = 5

        var size: Int { switch self { case .ascii: 1; case .short: 2; case .long: 4; case .rational: 8 } }
    }

    /// One tag: its values as the kind stores them (bytes for ascii, numerator-denominator pairs for rational).
    struct Entry {
        var tag: UInt16
        var kind: Kind
        var values: [UInt32]

        var count: Int { kind == .rational ? values.count / 2 : values.count }
    }

    private(set) var bytes: [UInt8] = [0x49, 0x49, 42, 0, 0, 0, 0, 0]
    /// Where the offset of the next directory goes: the header's, then each directory's last word.
    private var nextDirectoryPointer = 4

    /// Appends `data` at a word boundary; returns its offset.
    mutating func append(data: [UInt8]) -> UInt32 {
        if bytes.count % 2 == 1 { bytes.append(0) }
        let offset = UInt32(bytes.count)
        bytes += data
        return offset
    }

    /// Appends a directory of `entries` (sorted by tag here, as TIFF requires) and chains it to the previous one.
    mutating func appendDirectory(_ entries: [Entry]) {
        var inline: [(Entry, UInt32)] = []
        for entry in entries.sorted(by: { $0.tag < $1.tag }) {
            if entry.count * entry.kind.size <= 4 {
                var value: UInt32 = 0
                for (index, part) in entry.values.enumerated() { value |= part << (8 * UInt32(index * entry.kind.size)) }
                inline.append((entry, value))
            } else {
                var array: [UInt8] = []
                for part in entry.values {
                    switch entry.kind {
                    case .ascii: array.append(UInt8(truncatingIfNeeded: part))
                    case .short: Self.append(UInt16(truncatingIfNeeded: part), to: &array)
                    case .long, .rational: Self.append(part, to: &array)
                    }
                }
                inline.append((entry, append(data: array)))
            }
        }
        let offset = append(data: [])
        Self.write(offset, at: nextDirectoryPointer, in: &bytes)
        Self.append(UInt16(inline.count), to: &bytes)
        for (entry, value) in inline {
            Self.append(entry.tag, to: &bytes)
            Self.append(entry.kind.rawValue, to: &bytes)
            Self.append(UInt32(entry.count), to: &bytes)
            Self.append(value, to: &bytes)
        }
        nextDirectoryPointer = bytes.count
        Self.append(UInt32(0), to: &bytes)
    }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func write(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
    }
}
