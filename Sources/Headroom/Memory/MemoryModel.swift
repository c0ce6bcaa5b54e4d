/// Peak memory of a training step as a straight line in the micro-batch size:
/// `peak(b) = fixed + b · perSample`, fitted from measured steps.
public struct MemoryModel: Sendable, Equatable, Codable {
    /// Bytes that do not grow with the batch: weights, gradients, optimiser state, workspaces.
    public var fixedBytes: Double
    /// Bytes each sample adds: activations kept for backward, input, loader prefetch.
    public var bytesPerSample: Double

    public init(fixedBytes: Double, bytesPerSample: Double) {
        self.fixedBytes = fixedBytes
        self.bytesPerSample = bytesPerSample
    }

    /// The line through two measurements (batch, peak bytes).
    public init(fitting a: (batch: Int, peak: Int), _ b: (batch: Int, peak: Int)) {
        precondition(a.batch != b.batch, "two different batch sizes are needed to fit a line")
        let slope = Double(b.peak - a.peak) / Double(b.batch - a.batch)
        // A measured slope at or below zero means noise dominates: fall back to the
        // conservative assumption that everything at the smaller size scales with it.
        let perSample = slope > 0 ? slope : Double(max(a.peak, b.peak)) / Double(max(a.batch, b.batch))
        self.init(fixedBytes: Double(a.peak) - Double(a.batch) * perSample, bytesPerSample: perSample)
    }

    public func predictedPeak(batch: Int) -> Int { Int(fixedBytes + Double(batch) * bytesPerSample) }

    /// The largest batch whose predicted peak stays within `bytes` (0 when not even one fits).
    public func largestBatch(within bytes: Int) -> Int {
        guard bytesPerSample > 0 else { return Int.max }
        let room = Double(bytes) - fixedBytes
        return room < bytesPerSample ? 0 : Int(room / bytesPerSample)
    }

    /// The model corrected by a step at `batch` that failed within `budget`: that batch
    /// needs more than the budget, so the per-sample cost is at least what makes it so.
    public func correctedForFailure(batch: Int, budget: Int) -> MemoryModel {
        let needed = (Double(budget) - fixedBytes) / Double(batch)
        return MemoryModel(fixedBytes: fixedBytes, bytesPerSample: max(bytesPerSample, needed * 1.02))
    }
}
