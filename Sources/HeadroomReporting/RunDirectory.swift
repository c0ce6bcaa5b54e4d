public import Foundation

/// The files of one run: `config.json`, `metrics.jsonl`, `confusion.json`, `report.html`,
/// `tensorboard/` and `checkpoints/`.
public struct RunDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var configuration: URL { url.appendingPathComponent("config.json") }
    public var metrics: URL { url.appendingPathComponent("metrics.jsonl") }
    public var confusion: URL { url.appendingPathComponent("confusion.json") }
    public var report: URL { url.appendingPathComponent("report.html") }
    public var tensorBoard: URL { url.appendingPathComponent("tensorboard") }
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }

    /// Whether a run already lives here (it has checkpoints or metrics).
    public var holdsARun: Bool {
        FileManager.default.fileExists(atPath: checkpoints.path) || FileManager.default.fileExists(atPath: metrics.path)
    }

    /// Writes `value` as pretty JSON, atomically (temporary file, then rename).
    public func write(_ value: some Encodable, to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: file, options: .atomic)
    }
}
