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

    /// Creates the directory, or explains why it cannot be used.
    public func prepare() throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TrainingSetupError(problems: ["cannot create the run directory \(url.path): \(error.localizedDescription)"])
        }
        guard FileManager.default.isWritableFile(atPath: url.path) else {
            throw TrainingSetupError(problems: ["the run directory \(url.path) is not writable"])
        }
    }

    /// Writes `value` as pretty JSON, atomically (temporary file, then rename).
    public func write(_ value: some Encodable, to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: file, options: .atomic)
    }
}

/// The configuration cannot be used; each problem says what to change.
public struct TrainingSetupError: Error, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

/// What `config.json` holds: the configuration, what it resolved to, and the memory plan.
public struct RunRecord: Codable, Sendable {
    public var configuration: TrainingConfiguration
    public var device: String
    public var precision: Precision
    public var budgetBytes: Int
    public var classNames: [String]
    public var trainingSamples: Int
    public var validationSamples: Int
    public var plan: [ResolutionPlan]
    public var headroomVersion: String
}

/// What `confusion.json` holds: the latest validation's confusion matrix.
public struct ConfusionRecord: Codable, Sendable {
    public var classes: [String]
    /// Rows: true class; columns: predicted class.
    public var matrix: [[Int]]
}
