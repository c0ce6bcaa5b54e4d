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

extension StepRecord {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        time = try container.decode(Double.self, forKey: .time)
        epoch = try container.decode(Int.self, forKey: .epoch)
        step = try container.decode(Int.self, forKey: .step)
        samples = try container.decode(Int.self, forKey: .samples)
        loss = try container.decodeMeasurement(forKey: .loss)
        learningRate = try container.decode(Double.self, forKey: .learningRate)
        microBatch = try container.decode(Int.self, forKey: .microBatch)
        accumulation = try container.decode(Int.self, forKey: .accumulation)
        resolution = try container.decode(Int.self, forKey: .resolution)
        peakBytes = try container.decode(Int.self, forKey: .peakBytes)
        budgetBytes = try container.decode(Int.self, forKey: .budgetBytes)
        samplesPerSecond = try container.decodeMeasurement(forKey: .samplesPerSecond)
    }
}

extension KeyedDecodingContainer {
    /// A measured value that the writer stored as null because it was not finite (a
    /// diverged loss): NaN here, so that the row is kept and shown as such.
    func decodeMeasurement(forKey key: Key) throws -> Double {
        try decodeNil(forKey: key) ? .nan : decode(Double.self, forKey: key)
    }
}
