public import Torch

/// Batch normalisation over channels, PyTorch's `nn.BatchNorm2d`: batch statistics in
/// training (updating the running ones with `momentum`), running statistics in evaluation.
public final class BatchNorm2d: UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVariance: Tensor
    /// How many training batches updated the running statistics (int64 scalar, as PyTorch keeps it).
    public let batchesTracked: Tensor
    public let momentum: Double
    public let epsilon: Double
    public var isTraining = true
    /// Frozen: evaluation behaviour (running statistics, no updates) whatever `isTraining`
    /// says, as when fine-tuning only a classifier on top.
    public var isFrozen = false
    /// Synchronised BatchNorm (`--sync-bn`): while it is active, training normalises with the
    /// statistics of every rank's micro-batch. `tag` is this layer's place in the model,
    /// the same on every rank.
    public private(set) var synchronization: (BatchNormSynchronization, tag: Int)?
    /// The synchronised statistics of the last training forward, for a checkpointed
    /// segment's recompute (which must not meet the other ranks a second time).
    private var lastStatistics: BatchNormSynchronization.Statistics?

    public init(features: Int, momentum: Double = 0.1, epsilon: Double = 1e-5) throws(TorchError) {
        weight = try Tensor.ones([features]).requiringGradient()
        bias = try Tensor.zeros([features]).requiringGradient()
        runningMean = try Tensor.zeros([features])
        runningVariance = try Tensor.ones([features])
        batchesTracked = try Tensor.zeros([], dtype: .int64)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var parameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    public var buffers: [(name: String, tensor: Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVariance), ("num_batches_tracked", batchesTracked)]
    }

    /// Synchronises this layer's training statistics through `synchronization` (nil: alone).
    public func synchronize(with synchronization: BatchNormSynchronization?, tag: Int) {
        self.synchronization = synchronization.map { ($0, tag) }
        lastStatistics = nil
    }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        let training = isTraining && !isFrozen
        if training, let (sync, tag) = synchronization, sync.isActive {
            return try synchronized(input, sync, tag: tag)
        }
        // A checkpointed segment's second run normalises as the first did, with batch
        // statistics, but the running ones were updated once already.
        if training && isRecomputingCheckpoint {
            return try input.batchNorm(
                weight: weight, bias: bias, runningMean: nil, runningVariance: nil,
                training: true, momentum: momentum, epsilon: epsilon)
        }
        if training {
            try withoutGradient { () throws(TorchError) in try batchesTracked += 1 }
        }
        return try input.batchNorm(
            weight: weight, bias: bias, runningMean: runningMean, runningVariance: runningVariance,
            training: training, momentum: momentum, epsilon: epsilon)
    }

    private func synchronized(_ input: Tensor, _ sync: BatchNormSynchronization, tag: Int) throws(TorchError) -> Tensor {
        if isRecomputingCheckpoint, let statistics = lastStatistics {
            return try sync.normalize(input, tag: tag, weight: weight, bias: bias, statistics: statistics)
        }
        try withoutGradient { () throws(TorchError) in try batchesTracked += 1 }
        let statistics = try sync.statistics(
            of: input, tag: tag, runningMean: runningMean, runningVariance: runningVariance, momentum: momentum, epsilon: epsilon)
        lastStatistics = statistics
        return try sync.normalize(input, tag: tag, weight: weight, bias: bias, statistics: statistics)
    }
}
