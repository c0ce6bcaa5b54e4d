public import Foundation

/// Everything a run directory holds for reporting; files not written yet are empty or nil.
public struct RunArtifacts: Sendable {
    public var log: MetricsLog
    public var configuration: RunConfiguration?
    public var confusion: ConfusionMatrix?

    public init(log: MetricsLog = MetricsLog(), configuration: RunConfiguration? = nil, confusion: ConfusionMatrix? = nil) {
        self.log = log
        self.configuration = configuration
        self.confusion = confusion
    }

    public init(runDirectory: URL) throws(ReportError) {
        log = try MetricsLog(contentsOf: runDirectory.appendingPathComponent("metrics.jsonl"))
        configuration = try RunConfiguration(contentsOf: runDirectory.appendingPathComponent("config.json"))
        confusion = try Self.readConfusion(runDirectory.appendingPathComponent("confusion.json"))
    }

    private static func readConfusion(_ url: URL) throws(ReportError) -> ConfusionMatrix? {
        guard let data = try ReportError.contentsIfPresent(url) else { return nil }
        do {
            return try JSONDecoder().decode(ConfusionMatrix.self, from: data)
        } catch {
            throw .malformed(path: url.path, reason: "\(error)")
        }
    }
}
