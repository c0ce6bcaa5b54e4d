/// The headline numbers of a run, from its metrics log.
public struct RunSummary: Sendable, Equatable {
    public struct Best: Sendable, Equatable {
        public var validationTop1: Double
        /// Zero-based, as in the log.
        public var epoch: Int
    }

    /// The highest validation top-1; the earliest epoch wins a tie.
    public var best: Best?
    public var lastValidationLoss: Double?
    public var lastValidationTop1: Double?
    public var epochsCompleted: Int
    public var steps: Int
    public var samples: Int
    public var outOfMemoryCount: Int
    public var replanCount: Int
    public var badImageCount: Int
    /// Seconds from the first record to the last.
    public var wallTime: Double?
    /// Unix time of the last record.
    public var lastUpdate: Double?

    public init(_ log: MetricsLog) {
        best = log.epochs.reduce(nil) { best, epoch in
            if let best, best.validationTop1 >= epoch.validationTop1 { return best }
            return Best(validationTop1: epoch.validationTop1, epoch: epoch.epoch)
        }
        lastValidationLoss = log.epochs.last?.validationLoss
        lastValidationTop1 = log.epochs.last?.validationTop1
        epochsCompleted = log.epochs.count
        steps = max(log.steps.last?.step ?? 0, log.epochs.last?.step ?? 0)
        samples = max(log.steps.last?.samples ?? 0, log.epochs.last?.samples ?? 0)
        outOfMemoryCount = log.events.count { if case .outOfMemory = $0.event { true } else { false } }
        replanCount = log.events.count { if case .replan = $0.event { true } else { false } }
        badImageCount = log.events.count { if case .badImage = $0.event { true } else { false } }
        let times = log.steps.map(\.time) + log.epochs.map(\.time) + log.events.map(\.position.time)
        if let first = times.min(), let last = times.max() {
            wallTime = last - first
            lastUpdate = last
        }
    }
}
