import Foundation
public import HeadroomExecution
public import HeadroomMemory
public import HeadroomReporting

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
