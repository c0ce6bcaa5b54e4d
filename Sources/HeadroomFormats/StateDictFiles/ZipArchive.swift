import Foundation

/// A read-only zip archive whose entries are stored uncompressed, as
/// `torch.save` writes them.
///
/// Only the central directory and local headers are parsed; entry contents
/// are slices of the (usually memory-mapped) archive bytes. ZIP64 records are
/// honoured, so archives over 4 GiB or with over 65 535 entries read too.
/// Compressed or encrypted entries are listed but refused when read;
/// multi-disk archives are refused outright.
struct ZipArchive {
    struct Entry {
        let name: String
        /// Byte range of the contents (as stored) within the archive.
        let dataRange: Range<Int>
        let crc32: UInt32
        /// Zip compression method; 0 is stored, the only one read.
        let method: UInt16
        let isEncrypted: Bool
    }

    let path: String
    /// Entries in central-directory order.
    let entries: [Entry]
    private let contents: Data
    private let positions: [String: Int]

    private enum Signature {
        static let localHeader: UInt32 = 0x0403_4B50
        static let centralHeader: UInt32 = 0x0201_4B50
        static let endOfCentralDirectory: UInt32 = 0x0605_4B50
        static let zip64EndOfCentralDirectory: UInt32 = 0x0606_4B50
        static let zip64Locator: UInt32 = 0x0706_4B50
    }

    /// Marks a 16- or 32-bit field whose real value is in a ZIP64 record.
    private static let zip64Marker16: UInt16 = 0xFFFF
    private static let zip64Marker32: UInt32 = 0xFFFF_FFFF

    init(contents: Data, path: String) throws(StateDictError) {
        var reader = ByteReader(contents, path: path, context: "zip archive")
        let directory = try Self.centralDirectory(&reader)
        try reader.seek(to: directory.offset)
        var entries: [Entry] = []
        var positions: [String: Int] = [:]
        for _ in 0..<directory.entryCount {
            let entry = try Self.entry(&reader, centralDirectoryEnd: directory.offset + directory.size)
            guard positions.updateValue(entries.count, forKey: entry.name) == nil else {
                throw .malformed(path: path, reason: "zip archive: entry \(entry.name) appears twice")
            }
            entries.append(entry)
        }
        self.path = path
        self.contents = reader.data
        self.entries = entries
        self.positions = positions
    }

    /// The contents of the entry called `name`, or `nil` when there is none.
    /// The result is a slice of the archive's bytes (no copy): index it
    /// through `withUnsafeBytes` or from its `startIndex`.
    ///
    /// The checksum is verified. A zero checksum on a non-empty entry is taken
    /// to mean "not computed" (`torch.save` can skip it) rather than corruption.
    func contents(of name: String) throws(StateDictError) -> Data? {
        guard let position = positions[name] else { return nil }
        let entry = entries[position]
        // Refused here rather than when listing, so that callers can still
        // recognise an archive by its entry names (TorchScript, say).
        guard !entry.isEncrypted else { throw .unsupported(path: path, reason: "zip entry \(name) is encrypted") }
        guard entry.method == 0 else {
            throw .unsupported(
                path: path,
                reason:
                    "zip entry \(name) is compressed (method \(entry.method)); torch.save stores entries uncompressed, re-save the file with torch.save"
            )
        }
        let bytes = contents[entry.dataRange]
        if entry.crc32 != 0 {
            let checksum = bytes.withUnsafeBytes(CRC32.checksum)
            guard checksum == entry.crc32 else {
                throw .malformed(path: path, reason: "zip entry \(name) is corrupted (checksum mismatch)")
            }
        }
        return bytes
    }

    // MARK: - Parsing

    private struct CentralDirectory {
        var entryCount: Int
        var size: Int
        var offset: Int
    }

    /// Finds the end-of-central-directory record (and its ZIP64 form) by
    /// scanning back from the end, past a comment of up to 64 KiB.
    private static func centralDirectory(_ reader: inout ByteReader) throws(StateDictError) -> CentralDirectory {
        let path = reader.path
        let fixedSize = 22
        let count = reader.data.count
        guard count >= fixedSize else {
            throw .malformed(path: path, reason: "not a zip archive: only \(count) bytes")
        }
        let lowest = max(0, count - fixedSize - Int(UInt16.max))
        guard
            let start = stride(from: count - fixedSize, through: lowest, by: -1).first(where: { position in
                reader.data.withUnsafeBytes { $0.loadLittleEndian(UInt32.self, at: position) }
                    == Signature.endOfCentralDirectory
            })
        else {
            throw .malformed(path: path, reason: "not a zip archive: no end-of-central-directory record (truncated?)")
        }

        try reader.seek(to: start + 4)
        let disk = try reader.read(UInt16.self)
        let directoryDisk = try reader.read(UInt16.self)
        _ = try reader.read(UInt16.self)  // entries on this disk
        let entryCount = try reader.read(UInt16.self)
        let size = try reader.read(UInt32.self)
        let offset = try reader.read(UInt32.self)
        guard disk == 0, directoryDisk == 0 else {
            throw .unsupported(path: path, reason: "multi-disk zip archives are not supported")
        }
        var directory = CentralDirectory(entryCount: Int(entryCount), size: Int(size), offset: Int(offset))

        // A ZIP64 locator, when present, sits right before the record.
        if start >= 20 {
            try reader.seek(to: start - 20)
            if try reader.read(UInt32.self) == Signature.zip64Locator {
                _ = try reader.read(UInt32.self)  // disk holding the ZIP64 record
                let recordOffset = try reader.read(UInt64.self)
                try reader.seek(to: try Self.int(recordOffset, path: path))
                guard try reader.read(UInt32.self) == Signature.zip64EndOfCentralDirectory else {
                    throw .malformed(path: path, reason: "zip archive: the ZIP64 locator points to no ZIP64 record")
                }
                try reader.skip(8 + 2 + 2 + 4 + 4 + 8)  // record size, versions, disks, entries on this disk
                directory.entryCount = try Self.int(try reader.read(UInt64.self), path: path)
                directory.size = try Self.int(try reader.read(UInt64.self), path: path)
                directory.offset = try Self.int(try reader.read(UInt64.self), path: path)
            }
        }
        guard directory.offset <= count, directory.size <= count - directory.offset else {
            throw .malformed(
                path: path, reason: "zip archive: the central directory lies outside the file (truncated?)")
        }
        // Each central header takes at least 46 bytes; a larger count is corrupt.
        guard directory.entryCount <= directory.size / 46 else {
            throw .malformed(
                path: path, reason: "zip archive: \(directory.entryCount) entries cannot fit the central directory")
        }
        return directory
    }

    /// Reads one central-directory header and resolves where its data starts.
    private static func entry(_ reader: inout ByteReader, centralDirectoryEnd: Int) throws(StateDictError) -> Entry {
        let path = reader.path
        guard try reader.read(UInt32.self) == Signature.centralHeader else {
            throw .malformed(
                path: path, reason: "zip archive: bad central directory header at offset \(reader.offset - 4)")
        }
        try reader.skip(4)  // versions
        let flags = try reader.read(UInt16.self)
        let method = try reader.read(UInt16.self)
        try reader.skip(4)  // modification time and date
        let crc32 = try reader.read(UInt32.self)
        var compressedSize = UInt64(try reader.read(UInt32.self))
        var size = UInt64(try reader.read(UInt32.self))
        let nameLength = Int(try reader.read(UInt16.self))
        let extraLength = Int(try reader.read(UInt16.self))
        let commentLength = Int(try reader.read(UInt16.self))
        let diskStart = try reader.read(UInt16.self)
        try reader.skip(6)  // attributes
        var localHeaderOffset = UInt64(try reader.read(UInt32.self))
        let name = try reader.readString(nameLength)
        var extra = ByteReader(try reader.readBytes(extraLength), path: path, context: "zip extra field of \(name)")
        try reader.skip(commentLength)
        guard reader.offset <= centralDirectoryEnd else {
            throw .malformed(path: path, reason: "zip archive: entry \(name) runs past the central directory")
        }

        // ZIP64 extra field: the 64-bit values of exactly the fields set to the marker.
        while extra.remaining >= 4 {
            let id = try extra.read(UInt16.self)
            let length = Int(try extra.read(UInt16.self))
            guard id == 0x0001 else {
                try extra.skip(length)
                continue
            }
            if size == UInt64(zip64Marker32) { size = try extra.read(UInt64.self) }
            if compressedSize == UInt64(zip64Marker32) { compressedSize = try extra.read(UInt64.self) }
            if localHeaderOffset == UInt64(zip64Marker32) { localHeaderOffset = try extra.read(UInt64.self) }
            break
        }

        guard diskStart == 0 || diskStart == zip64Marker16 else {
            throw .unsupported(path: path, reason: "multi-disk zip archives are not supported")
        }
        guard method != 0 || compressedSize == size else {
            throw .malformed(path: path, reason: "zip entry \(name) is stored but its two sizes differ")
        }

        // The local header repeats the name and may carry its own extra
        // field (torch pads with one to align data to 64 bytes).
        let savedOffset = reader.offset
        try reader.seek(to: try int(localHeaderOffset, path: path))
        guard try reader.read(UInt32.self) == Signature.localHeader else {
            throw .malformed(path: path, reason: "zip archive: bad local header for entry \(name)")
        }
        try reader.skip(22)
        let localNameLength = Int(try reader.read(UInt16.self))
        let localExtraLength = Int(try reader.read(UInt16.self))
        try reader.skip(localNameLength + localExtraLength)
        let dataStart = reader.offset
        let byteCount = try int(compressedSize, path: path)
        guard byteCount <= reader.remaining else {
            throw .malformed(path: path, reason: "zip entry \(name) runs past the end of the file (truncated?)")
        }
        try reader.seek(to: savedOffset)
        return Entry(
            name: name, dataRange: dataStart..<dataStart + byteCount, crc32: crc32, method: method,
            isEncrypted: flags & 0x1 != 0)
    }

    private static func int(_ value: UInt64, path: String) throws(StateDictError) -> Int {
        guard let result = Int(exactly: value) else {
            throw .malformed(path: path, reason: "zip archive: size or offset \(value) is out of range")
        }
        return result
    }
}
