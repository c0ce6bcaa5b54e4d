import HeadroomData
/// How one optimiser step's effective batch is cut into micro-batches.
///
/// The rule: `count = ⌈effective / micro⌉` micro-batches whose sizes differ by at most one
/// (the larger ones first), so none exceeds `micro` and the peak stays as planned. Each
/// micro-batch's mean loss is weighted by `size / effective`, so the accumulated gradient
/// is the mean over the effective batch whatever the cut.
public struct AccumulationPlan: Sendable, Equatable, Codable {
    public let effectiveBatch: Int
    public let microBatch: Int

    public init(effectiveBatch: Int, microBatch: Int) {
        precondition(effectiveBatch >= 1 && microBatch >= 1)
        self.effectiveBatch = effectiveBatch
        self.microBatch = min(microBatch, effectiveBatch)
    }

    /// Micro-batches per optimiser step.
    public var steps: Int { (effectiveBatch + microBatch - 1) / microBatch }

    /// The size of each micro-batch, in order; they sum to the effective batch.
    public var sizes: [Int] { evenSplit(effectiveBatch, into: steps) }

    /// `sizes` for a person: "8+8+8" when short, "337×280 + 21×279" when long.
    public static func describe(_ sizes: [Int]) -> String {
        if sizes.count <= 4 { return sizes.map(String.init).joined(separator: "+") }
        var runs: [(size: Int, count: Int)] = []
        for size in sizes {
            if runs.last?.size == size { runs[runs.count - 1].count += 1 } else { runs.append((size, 1)) }
        }
        return runs.map { "\($0.count)×\($0.size)" }.joined(separator: " + ")
    }
}
