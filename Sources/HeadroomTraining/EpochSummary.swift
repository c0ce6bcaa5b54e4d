public import HeadroomInference

/// One epoch's results.
public struct EpochSummary: Sendable, Codable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainTop1: Double
    public var validation: EvaluationResult
    /// `--model-ema`: the moving average's validation.
    public var averageValidation: EvaluationResult?
    public var seconds: Double
    public var resolution: Int
    public var isBest: Bool
    /// Training images found undecodable so far (replaced in their batches, left out since).
    public var badImages: Int
}
