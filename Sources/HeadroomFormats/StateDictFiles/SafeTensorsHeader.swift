import Foundation
import TorchTypes

/// The header of a safetensors file: where each tensor lies in the data buffer
/// and the free-form string metadata. Reading validates everything the format
/// promises, so that slicing the buffer afterwards cannot go wrong; writing
/// lays tensors out the way the reference `safetensors` library does.
///
/// Layout: an unsigned 64-bit little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, …,
/// "__metadata__": {"key": "value"}}`, padded with spaces), then the buffer.
struct SafeTensorsHeader: Equatable {
    struct Entry: Equatable {
        var name: String
        var dtype: DType
        var shape: [Int]
        /// Byte range within the data buffer that follows the header.
        var dataRange: Range<Int>
    }

    /// Entries in data-buffer order.
    var entries: [Entry]
    var metadata: [String: String]

    static let metadataKey = "__metadata__"
    /// The reference implementation refuses larger headers; so do we, before
    /// reading them, so a corrupt length cannot make us allocate gigabytes.
    static let maximumByteCount = 100_000_000
    /// Types the format defines that no Headroom model uses.
    static let unsupportedDTypeNames: Set<String> = [
        "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64",
    ]
}

// MARK: - Reading

extension SafeTensorsHeader {
    /// Parses and validates a header against a data buffer of `bufferByteCount` bytes.
    init(json: [UInt8], bufferByteCount: Int, path: String) throws(StateDictError) {
        func malformed(_ reason: String) -> StateDictError { .malformed(path: path, reason: reason) }

        guard json.first == UInt8(ascii: "{") else { throw malformed("the JSON header does not start with '{'") }
        let root: HeaderJSON
        do {
            root = try HeaderJSON(parsing: json)
        } catch {
            throw malformed("the JSON header is invalid: \(error.message)")
        }
        guard case .object(let object) = root else { throw malformed("the JSON header is not an object") }

        var entries: [Entry] = []
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == Self.metadataKey {
                metadata = try Self.parseMetadata(value, malformed: malformed)
            } else {
                entries.append(try Self.parseEntry(name: name, value, path: path))
            }
        }
        entries.sort {
            ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound)
        }
        try Self.checkCoverage(of: entries, bufferByteCount: bufferByteCount, malformed: malformed)
        self.entries = entries
        self.metadata = metadata
    }

    private static func parseMetadata(
        _ value: HeaderJSON, malformed: (String) -> StateDictError
    ) throws(StateDictError) -> [String: String] {
        guard case .object(let object) = value else { throw malformed("__metadata__ is not an object") }
        var metadata: [String: String] = [:]
        for (key, value) in object {
            guard case .string(let text) = value else {
                throw malformed("__metadata__ value for \"\(key)\" is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(name: String, _ value: HeaderJSON, path: String) throws(StateDictError) -> Entry {
        func malformed(_ reason: String) -> StateDictError {
            .malformed(path: path, reason: "tensor \"\(name)\": \(reason)")
        }
        guard case .object(let object) = value else { throw malformed("its header entry is not an object") }
        func field(_ key: String) throws(StateDictError) -> HeaderJSON {
            guard let value = object.first(where: { $0.key == key })?.value else { throw malformed("no \(key)") }
            return value
        }
        func integers(_ key: String) throws(StateDictError) -> [Int] {
            guard case .array(let elements) = try field(key) else { throw malformed("\(key) is not an array") }
            return try elements.map { element throws(StateDictError) in
                // Digits only: no sign, fraction or exponent, and it must fit in Int.
                guard case .number(let text) = element, text.utf8.allSatisfy({ (48...57).contains($0) }),
                    let integer = Int(text)
                else { throw malformed("\(key) holds something other than a non-negative integer") }
                return integer
            }
        }

        guard case .string(let dtypeName) = try field("dtype") else { throw malformed("dtype is not a string") }
        guard let dtype = DType(safeTensorsName: dtypeName) else {
            if unsupportedDTypeNames.contains(dtypeName) {
                throw .unsupported(
                    path: path, reason: "tensor \"\(name)\" has dtype \(dtypeName), which Headroom does not use")
            }
            throw malformed("unknown dtype \"\(dtypeName)\"")
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2, offsets[0] <= offsets[1] else {
            throw malformed("data_offsets must be [begin, end] with begin ≤ end, found \(offsets)")
        }
        guard let count = TensorRecord.elementCount(of: shape) else { throw malformed("shape \(shape) is too large") }
        let byteCount = count * dtype.elementSize
        guard offsets[1] - offsets[0] == byteCount else {
            throw malformed(
                "\(dtypeName) \(shape) needs \(byteCount) bytes but data_offsets \(offsets) span \(offsets[1] - offsets[0])"
            )
        }
        return Entry(name: name, dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
    }

    /// The format requires the tensors to tile the buffer exactly: no gap, no
    /// overlap, nothing past the end. Expects `entries` sorted by offset.
    private static func checkCoverage(
        of entries: [Entry], bufferByteCount: Int, malformed: (String) -> StateDictError
    ) throws(StateDictError) {
        var covered = 0
        var previous: String?
        for entry in entries {
            if entry.dataRange.lowerBound < covered {
                throw malformed(
                    "tensors \"\(previous ?? "")\" and \"\(entry.name)\" overlap at byte \(entry.dataRange.lowerBound)")
            }
            if entry.dataRange.lowerBound > covered {
                throw malformed("data bytes \(covered)..<\(entry.dataRange.lowerBound) belong to no tensor")
            }
            if entry.dataRange.upperBound > bufferByteCount {
                throw malformed(
                    "tensor \"\(entry.name)\" ends at data byte \(entry.dataRange.upperBound) but the file holds only \(bufferByteCount) data bytes (truncated?)"
                )
            }
            covered = entry.dataRange.upperBound
            previous = entry.name
        }
        if covered != bufferByteCount {
            throw malformed("data bytes \(covered)..<\(bufferByteCount) belong to no tensor")
        }
    }
}

// MARK: - Writing

extension SafeTensorsHeader {
    /// Lays `records` out as the reference writer does: descending element
    /// type order (largest elements first, so every tensor stays aligned to its
    /// element size), then by name, bytewise.
    init(laying records: StateDictRecords, metadata: [String: String]) throws(StateDictError) {
        var order = Array(records.indices)
        order.sort { lhs, rhs in
            let (left, right) = (records[lhs], records[rhs])
            if left.record.dtype.safeTensorsLayoutRank != right.record.dtype.safeTensorsLayoutRank {
                return left.record.dtype.safeTensorsLayoutRank > right.record.dtype.safeTensorsLayoutRank
            }
            return left.key.utf8.lexicographicallyPrecedes(right.key.utf8)
        }
        var offset = 0
        entries = try order.map { index throws(StateDictError) in
            let (key, record) = records[index]
            guard key != Self.metadataKey else {
                throw .invalidRecord(
                    key: key, reason: "\(Self.metadataKey) is reserved for the metadata in safetensors files")
            }
            defer { offset += record.bytes.count }
            return Entry(
                name: key, dtype: record.dtype, shape: record.shape, dataRange: offset..<offset + record.bytes.count)
        }
        self.metadata = metadata
    }

    /// The 8-byte length followed by the JSON, padded with spaces so the data
    /// buffer starts at a multiple of 8.
    var encoded: Data {
        var pairs: [(key: String, value: HeaderJSON)] = []
        if !metadata.isEmpty {
            let sorted = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            pairs.append((Self.metadataKey, .object(sorted.map { ($0.key, HeaderJSON.string($0.value)) })))
        }
        for entry in entries {
            pairs.append(
                (
                    entry.name,
                    .object([
                        ("dtype", .string(entry.dtype.safeTensorsName)),
                        ("shape", .array(entry.shape.map(HeaderJSON.integer))),
                        (
                            "data_offsets",
                            .array([.integer(entry.dataRange.lowerBound), .integer(entry.dataRange.upperBound)])
                        ),
                    ])
                ))
        }
        var json = Array(HeaderJSON.object(pairs).encoded.utf8)
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        var data = Data(capacity: 8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: json)
        return data
    }
}
