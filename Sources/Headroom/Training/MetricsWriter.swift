public import Foundation

/// `RUN_DIR/metrics.jsonl`: one JSON object per line — per optimiser step, per epoch and
/// per event — appended and flushed as it happens, so a killed run keeps its history
/// (a reader skips a torn last line). Fields are documented in the README.
public final class MetricsWriter: @unchecked Sendable {
    // @unchecked: the handle is only used under `lock`.
    private let handle: FileHandle
    private let lock = NSLock()
    public let url: URL

    /// Opens the log for appending, creating it if needed.
    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends one record; `type` and `time` are added. JSON has no NaN or infinity: such a
    /// value (a diverged loss) is written as null, and `non_finite` says which it was.
    public func append(_ type: String, _ fields: [String: Any?]) throws {
        var record: [String: Any] = ["type": type, "time": Date().timeIntervalSince1970]
        var nonFinite: [String: String] = [:]
        for (key, value) in fields {
            if let number = (value as? Double) ?? (value as? Float).map(Double.init), !number.isFinite {
                nonFinite[key] = number.isNaN ? "nan" : number > 0 ? "inf" : "-inf"
                record[key] = NSNull()
            } else {
                record[key] = value ?? NSNull()
            }
        }
        if !nonFinite.isEmpty { record["non_finite"] = nonFinite }
        var data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        try handle.write(contentsOf: data)
    }
}
