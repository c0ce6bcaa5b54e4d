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
    @Measured public var loss: Double
    public var learningRate: Double
    public var microBatch: Int
    public var accumulation: Int
    public var resolution: Int
    public var peakBytes: Int
    public var budgetBytes: Int
    @Measured public var samplesPerSecond: Double

    private enum CodingKeys: String, CodingKey {
        case time, epoch, step, samples, loss, accumulation, resolution
        case learningRate = "lr"
        case microBatch = "micro_batch"
        case peakBytes = "peak_bytes"
        case budgetBytes = "budget_bytes"
        case samplesPerSecond = "samples_per_s"
    }
}

/// A measured number that metrics.jsonl holds as null when it was NaN or infinite (JSON has
/// neither; the row's `non_finite` says which): read back as NaN, so the row is kept.
@propertyWrapper
public struct Measured: Sendable, Equatable, Decodable {
    public var wrappedValue: Double

    public init(wrappedValue: Double) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? .nan : try container.decode(Double.self)
    }
}
