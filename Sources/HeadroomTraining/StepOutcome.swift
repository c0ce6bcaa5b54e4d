public import HeadroomExecution
public import HeadroomModels
public import Torch

/// What one optimiser step did.
public struct StepOutcome: Sendable {
    /// Summed training loss and correct top-1 count over the step's samples (device
    /// tensors; reading them syncs). Data-parallel: over every rank's share.
    public var lossSum: Tensor
    public var correct: Tensor
    /// Samples this process trained on (its share when data-parallel).
    public var samples: Int
    /// Data-parallel: how many ranks asked to stop at this step (a scalar tensor).
    public var stopVotes: Tensor?
    /// Data-parallel: seconds this rank spent in the step's all-reduce (waiting for the
    /// slowest rank included).
    public var allReduceSeconds: Double?
    /// The largest micro-batch that finally ran, and how many there were.
    public var microBatch: Int
    public var accumulation: Int
    /// False when fp16 overflow made the optimiser skip the step.
    public var stepTaken: Bool
    /// The out-of-memory errors recovered from on the way.
    public var recoveries: [Recovery]
    /// Data-parallel: how many times this rank started the step again because another rank
    /// ran out of memory (that rank shrinks its micro-batch and says so; this one keeps its own).
    public var repeatsForOtherRanks = 0

    public struct Recovery: Sendable {
        public var failedMicroBatch: Int
        public var newMicroBatch: Int
        public var requestedBytes: Int?
        /// Set when not even one sample fitted and the model now checkpoints these segments.
        public var checkpointedSegments: [ResNet.Segment]?
        /// Set when not even one sample fitted with every segment checkpointed: how the model
        /// streams now.
        public var streaming: ResNet.Streaming?
        /// Where in the micro-batch memory ran out.
        public var phase: TrainingStep.Phase?
        /// Data-parallel: every rank repeats the step (this rank's gradients were launched
        /// already, or BatchNorm is synchronised), not this rank alone.
        public var everyRank = false
    }
}
