public import Foundation
public import HeadroomMemory

/// A run's config.json: every setting as a flat key → value table, and the memory plan.
public struct RunConfiguration: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// Dotted path of the setting, "optimizer.momentum".
        public var key: String
        public var value: String
    }

    /// Every setting but the plan and the command line, sorted by key.
    public var entries: [Entry]
    public var plan: [ResolutionPlan]
    /// The settings as `headroom train`'s flags with units (`commandLine`: runs from this
    /// version on), in the order the run wrote them.
    public var commandLine: [Entry]

    public init(entries: [Entry], plan: [ResolutionPlan], commandLine: [Entry] = []) {
        self.entries = entries
        self.plan = plan
        self.commandLine = commandLine
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
        let commandLineValue = members.removeValue(forKey: "commandLine")
        entries = JSONValue.object(members).flattened().map { Entry(key: $0.key, value: $0.value.displayText) }
        commandLine = []
        if case .array(let rows)? = commandLineValue {
            commandLine = rows.compactMap { row in
                guard case .object(let fields) = row, case .string(let flag)? = fields["flag"], case .string(let value)? = fields["value"]
                else { return nil }
                return Entry(key: flag, value: value)
            }
        }
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
        var plan: [ResolutionPlan]?
    }
}
