/// One optimiser step, as the trainer logs it (`"type": "step"` in metrics.jsonl).
public struct StepRecord: Sendable, Equatable, Codable {
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
    /// Data-parallel: rank 0's seconds in the step's all-reduce (waiting included).
    public var allReduceSeconds: Double?
    /// Data-parallel: the number of processes; `microBatch`, `accumulation` and
    /// `peakBytes` are then rank 0's.
    public var worldSize: Int?

    public init(
        time: Double, epoch: Int, step: Int, samples: Int, loss: Double, learningRate: Double, microBatch: Int,
        accumulation: Int, resolution: Int, peakBytes: Int, budgetBytes: Int, samplesPerSecond: Double,
        allReduceSeconds: Double? = nil, worldSize: Int? = nil
    ) {
        self.time = time
        self.epoch = epoch
        self.step = step
        self.samples = samples
        self.loss = loss
        self.learningRate = learningRate
        self.microBatch = microBatch
        self.accumulation = accumulation
        self.resolution = resolution
        self.peakBytes = peakBytes
        self.budgetBytes = budgetBytes
        self.samplesPerSecond = samplesPerSecond
        self.allReduceSeconds = allReduceSeconds
        self.worldSize = worldSize
    }

    private enum CodingKeys: String, CodingKey {
        case time, epoch, step, samples, loss, accumulation, resolution
        case learningRate = "lr"
        case microBatch = "micro_batch"
        case peakBytes = "peak_bytes"
        case budgetBytes = "budget_bytes"
        case samplesPerSecond = "samples_per_s"
        case allReduceSeconds = "allreduce_s"
        case worldSize = "world_size"
    }
}

/// A measured number that metrics.jsonl holds as null when it was NaN or infinite (JSON has
/// neither; the row's `non_finite` says which): read back as NaN, so the row is kept.
@propertyWrapper
public struct Measured: Sendable, Equatable, Codable {
    public var wrappedValue: Double

    public init(wrappedValue: Double) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? .nan : try container.decode(Double.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if wrappedValue.isFinite { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }

    /// How `non_finite` names a value that is not finite; nil for a finite one.
    public static func nonFiniteName(_ value: Double) -> String? {
        value.isFinite ? nil : value.isNaN ? "nan" : value > 0 ? "inf" : "-inf"
    }

    /// NaN and ±infinity compare equal to themselves: a record read back equals the one written.
    public static func == (lhs: Measured, rhs: Measured) -> Bool {
        lhs.wrappedValue == rhs.wrappedValue || (lhs.wrappedValue.isNaN && rhs.wrappedValue.isNaN)
    }
}
