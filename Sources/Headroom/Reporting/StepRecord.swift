/// One optimiser step, as the trainer logs it (`"type": "step"` in metrics.jsonl).
public struct StepRecord: Sendable, Equatable, Decodable {
    /// Unix time in seconds.
    public var time: Double
    /// Zero-based.
    public var epoch: Int
    /// The global optimiser step, one-based.
    public var step: Int
    /// Samples trained so far, this step included.
    public var samples: Int
    public var loss: Double
    public var learningRate: Double
    public var microBatch: Int
    public var accumulation: Int
    public var resolution: Int
    public var peakBytes: Int
    public var budgetBytes: Int
    public var samplesPerSecond: Double

    private enum CodingKeys: String, CodingKey {
        case time, epoch, step, samples, loss, accumulation, resolution
        case learningRate = "lr"
        case microBatch = "micro_batch"
        case peakBytes = "peak_bytes"
        case budgetBytes = "budget_bytes"
        case samplesPerSecond = "samples_per_s"
    }
}
