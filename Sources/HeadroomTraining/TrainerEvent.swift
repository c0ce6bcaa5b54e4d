public import Foundation
public import HeadroomData
public import HeadroomExecution
import HeadroomInference
public import HeadroomMemory
public import HeadroomModels

/// What the trainer reports as it goes; the CLI turns these into the terminal output.
public enum TrainerEvent: Sendable {
    /// Resolved settings worth showing at start, as (name, value) rows.
    case started([(String, String)])
    /// A stage's memory plan, made or restored.
    case planned(ResolutionPlan)
    /// A new resolution stage begins.
    case stage(epoch: Int, resolution: Int)
    /// An optimiser step finished.
    case step(StepProgress)
    /// An out-of-memory error was recovered from inside a step.
    /// `checkpointedSegments` is set when one sample did not fit and more is recomputed now;
    /// `streaming` when that meant streaming.
    case outOfMemory(
        epoch: Int, step: Int, resolution: Int, failedMicroBatch: Int, newMicroBatch: Int, checkpointedSegments: [ResNet.Segment]?,
        streaming: ResNet.Streaming? = nil, phase: TrainingStep.Phase? = nil, everyRank: Bool = false)
    /// Data-parallel: this rank ran the step `times` more because another rank ran out of
    /// memory inside it (that rank reports its own recovery).
    case repeatedForAnotherRank(epoch: Int, step: Int, times: Int)
    /// A sample could not be decoded and was replaced.
    case badSample(BadSample)
    case validated(EpochSummary)
    case checkpointSaved(URL, reason: Checkpointer.Reason)
    /// A stop was requested (Ctrl-C); the run stops after the current step.
    case stopping
    /// Pretrained weights are being downloaded into PyTorch's cache.
    case downloading(file: String, bytes: Int, totalBytes: Int?)
}

/// The state of training after one optimiser step.
public struct StepProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var stepInEpoch: Int
    public var stepsInEpoch: Int
    public var globalStep: Int
    public var loss: Double
    public var learningRate: Double
    public var microBatch: Int
    public var accumulation: Int
    public var resolution: Int
    public var samplesPerSecond: Double
    public var liveBytes: Int
    public var peakBytes: Int
    public var budgetBytes: Int?
    /// Seconds until the end of the epoch at the current pace.
    public var epochSecondsLeft: Double
    /// The dataset samples this step trained on, in order.
    public var sampleIndices: [Int]
}
