public import Foundation

/// Reading and writing the safetensors format
/// (<https://github.com/huggingface/safetensors>): a JSON header followed by
/// raw little-endian tensor bytes. Nothing in it executes on load, which is why
/// Headroom's own checkpoints use it.
public enum SafeTensors {
    /// Reads every tensor and the metadata of the file at `url`.
    public static func read(
        contentsOf url: URL
    ) throws(StateDictError) -> (records: StateDictRecords, metadata: [String: String]) {
        let file = try SafeTensorsFile(contentsOf: url)
        return (file.records(), file.metadata)
    }

    /// Writes `records` and `metadata` to `url` atomically: a crash leaves the
    /// previous file or the complete new one.
    ///
    /// The layout is the reference library's (`safetensors.torch.save_file`),
    /// so the same tensors give the same bytes whichever tool wrote them.
    public static func write(
        _ records: StateDictRecords, metadata: [String: String] = [:], to url: URL
    ) throws(StateDictError) {
        try AtomicFileWriter.write(try chunks(records, metadata: metadata), to: url)
    }

    /// The complete file contents for `records`, for callers that keep them in memory.
    public static func encoded(
        _ records: StateDictRecords, metadata: [String: String] = [:]
    ) throws(StateDictError) -> Data {
        try chunks(records, metadata: metadata).reduce(into: Data()) { $0.append($1) }
    }

    /// The header followed by each tensor's bytes in layout order.
    private static func chunks(_ records: StateDictRecords, metadata: [String: String]) throws(StateDictError) -> [Data]
    {
        let header = try SafeTensorsHeader(laying: records, metadata: metadata)
        // Every entry was laid out from `records`, so each lookup succeeds.
        return [header.encoded] + header.entries.map { records[$0.name]!.bytes }
    }
}
