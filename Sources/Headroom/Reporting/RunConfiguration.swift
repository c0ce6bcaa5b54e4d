public import Foundation

/// A run's config.json: every setting as a flat key → value table, and the memory plan.
public struct RunConfiguration: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// Dotted path of the setting, "optimizer.momentum".
        public var key: String
        public var value: String
    }

    /// Every setting but the plan, sorted by key.
    public var entries: [Entry]
    public var plan: [PlanEntry]

    public init(entries: [Entry], plan: [PlanEntry]) {
        self.entries = entries
        self.plan = plan
    }

    public init(parsing data: Data, path: String = "config.json") throws(ReportError) {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw .malformed(path: path, reason: "not JSON (\(error))")
        }
        guard case .object(var members) = root else { throw .malformed(path: path, reason: "not a JSON object") }
        let planValue = members.removeValue(forKey: "plan")
        entries = JSONValue.object(members).flattened().map { Entry(key: $0.key, value: $0.value.displayText) }
        plan = []
        if planValue != nil {
            do {
                plan = try JSONDecoder().decode(PlanFile.self, from: data).plan ?? []
            } catch {
                throw .malformed(path: path, reason: "\"plan\" is not a list of resolution plans (\(error))")
            }
        }
    }

    /// Reads `url`; nil when the run has not written it yet.
    public init?(contentsOf url: URL) throws(ReportError) {
        guard let data = try ReportError.contentsIfPresent(url) else { return nil }
        try self.init(parsing: data, path: url.path)
    }

    private struct PlanFile: Decodable {
        var plan: [PlanEntry]?
    }
}
