/// Peak memory of a training step as a straight line in the micro-batch size:
/// `peak(b) = fixed + b · perSample`, plus the gradients when the step accumulates.
///
/// Why the gradient term: with one micro-batch per step the gradients are allocated during
/// backward while activations are being freed; when a step accumulates, every micro-batch
/// after the first runs its forward and backward with the whole gradient already held. At
/// low resolution that can make accumulation cost more than it saves.
public struct MemoryModel: Sendable, Equatable, Codable {
    /// Bytes that do not grow with the batch: weights, optimiser state, workspaces.
    public var fixedBytes: Double
    /// Bytes each sample adds: activations kept for backward, input, loader prefetch.
    public var bytesPerSample: Double
    /// Bytes of gradients held across micro-batches when a step accumulates.
    public var accumulationBytes: Double

    public init(fixedBytes: Double, bytesPerSample: Double, accumulationBytes: Double = 0) {
        self.fixedBytes = fixedBytes
        self.bytesPerSample = bytesPerSample
        self.accumulationBytes = accumulationBytes
    }

    /// Plans saved before the gradients held by accumulating steps were measured hold none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        fixedBytes = try container.decode(Double.self, forKey: .fixedBytes)
        bytesPerSample = try container.decode(Double.self, forKey: .bytesPerSample)
        accumulationBytes = try container.decodeIfPresent(Double.self, forKey: .accumulationBytes) ?? 0
    }

    /// The line through two measurements (batch, peak bytes) taken with the same gradient
    /// pattern; `accumulationBytes` is added for accumulating steps (and must already be
    /// subtracted from measurements that accumulated).
    public init(fitting a: (batch: Int, peak: Int), _ b: (batch: Int, peak: Int), accumulationBytes: Double = 0) {
        precondition(a.batch != b.batch, "two different batch sizes are needed to fit a line")
        let slope = Double(b.peak - a.peak) / Double(b.batch - a.batch)
        // A measured slope at or below zero means noise dominates: fall back to the
        // conservative assumption that everything at the smaller size scales with it.
        let perSample = slope > 0 ? slope : Double(max(a.peak, b.peak)) / Double(max(a.batch, b.batch))
        self.init(
            fixedBytes: Double(a.peak) - Double(a.batch) * perSample, bytesPerSample: perSample,
            accumulationBytes: accumulationBytes)
    }

    /// The predicted peak of a step with micro-batch `batch`, accumulating or not.
    public func predictedPeak(batch: Int, accumulating: Bool = false) -> Int {
        Int(fixedBytes + Double(batch) * bytesPerSample + (accumulating ? accumulationBytes : 0))
    }

    /// The predicted peak when an effective batch of `effectiveBatch` runs in micro-batches of `batch`.
    public func predictedPeak(batch: Int, effectiveBatch: Int) -> Int {
        predictedPeak(batch: batch, accumulating: batch < effectiveBatch)
    }

    /// The largest micro-batch ≤ `effectiveBatch` whose predicted peak stays within `bytes`
    /// (0 when not even one sample fits).
    public func largestBatch(within bytes: Int, effectiveBatch: Int = Int.max) -> Int {
        if effectiveBatch < Int.max, predictedPeak(batch: effectiveBatch) <= bytes { return effectiveBatch }
        guard bytesPerSample > 0 else { return effectiveBatch == Int.max ? Int.max : effectiveBatch - 1 }
        let room = Double(bytes) - fixedBytes - accumulationBytes
        let largest = room < bytesPerSample ? 0 : Int(room / bytesPerSample)
        return min(largest, effectiveBatch == Int.max ? largest : effectiveBatch - 1)
    }

    /// The model corrected by a step at `batch` that failed within `budget`: that batch
    /// needs more than the budget, so the per-sample cost is at least what makes it so.
    public func correctedForFailure(batch: Int, budget: Int, accumulating: Bool = false) -> MemoryModel {
        let extra = accumulating ? accumulationBytes : 0
        let needed = (Double(budget) - fixedBytes - extra) / Double(batch)
        return MemoryModel(fixedBytes: fixedBytes, bytesPerSample: max(bytesPerSample, needed * 1.02), accumulationBytes: accumulationBytes)
    }
}
