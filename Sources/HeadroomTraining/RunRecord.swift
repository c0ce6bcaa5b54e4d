import Foundation
public import HeadroomExecution
public import HeadroomMemory
public import HeadroomReporting

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
    /// The settings as `headroom train`'s flags with units, for the report.
    public var commandLine: [CommandLineSetting]
}

/// What `confusion.json` holds: the confusion matrix of the best epoch so far, the one the
/// best checkpoint and the report's headline score come from.
public struct ConfusionRecord: Codable, Sendable {
    public var classes: [String]
    /// Rows: true class; columns: predicted class.
    public var matrix: [[Int]]
    /// The epoch it was validated after (zero-based, as in metrics.jsonl).
    public var epoch: Int
}

extension RunDirectory {
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
}
