public import Foundation
public import TorchTypes

/// A safetensors file opened for reading.
///
/// Opening maps the file and validates the whole header, so a file that opens
/// is safe to read from: every tensor's bytes lie inside the file and match its
/// type and shape. Tensors are copied out one at a time, on request, which
/// keeps peak memory near one tensor for callers that convert as they go.
public struct SafeTensorsFile: Sendable {
    /// A tensor's description, without its bytes.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range within the file.
        let fileRange: Range<Int>

        public var byteCount: Int { fileRange.count }
    }

    public let path: String
    /// Tensors in the order their bytes appear in the file.
    public let entries: [Entry]
    /// The `__metadata__` string map; empty when the file has none.
    public let metadata: [String: String]

    /// The mapped file; `Data` keeps the mapping alive as long as needed.
    private let contents: Data
    private let positions: [String: Int]

    /// Maps and validates the file at `url`.
    public init(contentsOf url: URL) throws(StateDictError) {
        try self.init(contents: try StateDictError.mappedContents(of: url), path: url.path)
    }

    /// Validates a whole file's bytes; `path` only names it in errors.
    public init(contents: Data, path: String) throws(StateDictError) {
        var reader = ByteReader(contents, path: path, context: "safetensors header")
        guard reader.remaining >= 8 else {
            throw .malformed(
                path: path, reason: "the file has \(reader.remaining) bytes, fewer than the 8-byte header length")
        }
        let headerLength = try reader.read(UInt64.self)
        guard headerLength <= UInt64(SafeTensorsHeader.maximumByteCount) else {
            throw .malformed(
                path: path, reason: "header length \(headerLength) exceeds the 100 MB limit (not a safetensors file?)")
        }
        guard Int(headerLength) <= reader.remaining else {
            throw .malformed(
                path: path,
                reason:
                    "header length \(headerLength) runs past the end of the \(contents.count)-byte file (truncated?)")
        }
        let json = [UInt8](try reader.readBytes(Int(headerLength)))
        let dataStart = reader.offset
        let header = try SafeTensorsHeader(json: json, bufferByteCount: reader.remaining, path: path)

        self.path = path
        self.contents = reader.data
        self.metadata = header.metadata
        self.entries = header.entries.map { entry in
            Entry(
                name: entry.name, dtype: entry.dtype, shape: entry.shape,
                fileRange: dataStart + entry.dataRange.lowerBound..<dataStart + entry.dataRange.upperBound)
        }
        self.positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in file order.
    public var names: [String] { entries.map(\.name) }

    /// A copy of the named tensor, or `nil` when the file has no such tensor.
    public func record(named name: String) -> TensorRecord? {
        positions[name].map { record(for: entries[$0]) }
    }

    /// Copies of all tensors, in file order.
    public func records() -> StateDictRecords {
        var records = StateDictRecords()
        for entry in entries { records[entry.name] = record(for: entry) }
        return records
    }

    private func record(for entry: Entry) -> TensorRecord {
        // The header validation guarantees the range and byte count.
        TensorRecord(validatedDType: entry.dtype, shape: entry.shape, bytes: contents.subdata(in: entry.fileRange))
    }
}
