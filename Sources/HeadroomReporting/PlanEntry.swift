/// The memory plan for one training resolution, as saved in config.json's "plan".
public struct PlanEntry: Sendable, Equatable, Decodable {
    public struct Accumulation: Sendable, Equatable, Decodable {
        public var effectiveBatch: Int
        public var microBatch: Int
    }

    public var resolution: Int
    public var microBatch: Int
    public var accumulation: Accumulation
    public var predictedPeakBytes: Int
    public var verifiedPeakBytes: Int?
    public var budgetBytes: Int

    /// Micro-batches per optimiser step: ⌈effective / micro⌉, the trainer's rule.
    public var accumulationSteps: Int {
        let micro = max(accumulation.microBatch, 1)
        return (accumulation.effectiveBatch + micro - 1) / micro
    }
}
