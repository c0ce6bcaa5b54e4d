public import Foundation
public import HeadroomInference

/// How a run ended.
public struct TrainingSummary: Sendable {
    public var epochsCompleted: Int
    public var globalSteps: Int
    public var samplesSeen: Int
    public var outOfMemoryRecoveries: Int
    public var bestTop1: Double?
    public var bestEpoch: Int?
    public var lastValidation: EvaluationResult?
    public var interrupted: Bool
    public var runDirectory: URL
}
