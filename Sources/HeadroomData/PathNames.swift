#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File names as the file system gives them. Linux names are bytes, not necessarily UTF-8
/// (a Latin-1 `café.jpg` is `caf\xe9.jpg`); Python keeps such bytes with its surrogateescape
/// decoding, so torchvision finds those files. Swift strings cannot hold lone surrogates, so
/// here each byte that is not part of valid UTF-8 becomes a private-use scalar, U+F700 + byte,
/// and turns back into that byte wherever a path reaches a system call. A name that really
/// holds one of those scalars has its UTF-8 bytes escaped the same way, so every name round-trips.
public enum PathNames {
    /// The private-use scalars that stand for the bytes 0x80…0xFF.
    static let escapes: ClosedRange<UInt32> = 0xF780...0xF7FF

    /// The string for a name's bytes, losslessly.
    public static func string<Bytes: Collection<UInt8>>(fromBytes bytes: Bytes) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: { escapes.contains($0.value) }) {
            return text
        }
        let bytes = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let length = sequenceLength(lead: bytes[index])
            if length > 0, index + length <= bytes.count,
                let decoded = String(validating: bytes[index..<(index + length)], as: UTF8.self),
                let scalar = decoded.unicodeScalars.first, !escapes.contains(scalar.value)
            {
                scalars.append(scalar)
                index += length
            } else {
                scalars.append(escape(bytes[index]))
                index += 1
            }
        }
        return String(scalars)
    }

    /// The string for a NUL-terminated name (an argument, a path a system call returned).
    public static func string(fromCString name: UnsafePointer<CChar>) -> String {
        string(fromBytes: UnsafeRawBufferPointer(start: name, count: strlen(name)))
    }

    /// The bytes `path` stands for (the inverse of `string(fromBytes:)`).
    public static func bytes(of path: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if escapes.contains(scalar.value) {
                bytes.append(UInt8(scalar.value - 0xF700))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// `body` with the NUL-terminated bytes `path` stands for, as system calls take them.
    public static func withSystemPath<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        guard path.unicodeScalars.contains(where: { escapes.contains($0.value) }) else { return try path.withCString(body) }
        let bytes = bytes(of: path).map { CChar(bitPattern: $0) } + [0]
        return try bytes.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// `path` for people: each byte that is not UTF-8 as `\xHH`, as `ls -b` and Python's repr show it.
    public static func display(_ path: String) -> String {
        guard path.unicodeScalars.contains(where: { escapes.contains($0.value) }) else { return path }
        var shown = ""
        for scalar in path.unicodeScalars {
            if escapes.contains(scalar.value) {
                let byte = String(scalar.value - 0xF700, radix: 16)
                shown += "\\x" + byte
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    private static func escape(_ byte: UInt8) -> Unicode.Scalar {
        // Bytes below 0x80 are always valid UTF-8 on their own, so only 0x80…0xFF get here.
        Unicode.Scalar(0xF700 + UInt32(byte))!
    }

    /// The length a UTF-8 sequence starting with `lead` has, 0 for a byte no sequence starts with.
    private static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }
}
