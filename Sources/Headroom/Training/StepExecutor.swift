public import Torch
import TorchNN

/// What one optimiser step did.
public struct StepOutcome: Sendable {
    /// Mean training loss over the step's samples (a device tensor; reading it syncs).
    public var lossSum: Tensor
    public var correct: Tensor
    public var samples: Int
    /// The largest micro-batch that finally ran, and how many there were.
    public var microBatch: Int
    public var accumulation: Int
    /// False when fp16 overflow made the optimiser skip the step.
    public var stepTaken: Bool
    /// The out-of-memory errors recovered from on the way.
    public var recoveries: [Recovery]

    public struct Recovery: Sendable {
        public var failedMicroBatch: Int
        public var newMicroBatch: Int
        public var requestedBytes: Int?
        /// Set when not even one sample fitted and the model now checkpoints these segments.
        public var checkpointedSegments: [ResNet.Segment]?
    }
}

/// The step could not run even one sample at a time.
public struct OutOfMemoryAtOneSample: Error, CustomStringConvertible {
    public var resolution: Int
    public var budgetBytes: Int?
    public var underlying: TorchError

    public var description: String {
        let budget = budgetBytes.map { " within the budget of \(formatBytes($0))" } ?? ""
        return "one sample at \(resolution)×\(resolution) px does not fit\(budget) (\(underlying)). "
            + "What would help: a lower resolution, --precision bf16, or a larger --memory-budget"
    }
}

/// Runs optimiser steps in micro-batches under the memory policy, and recovers from an
/// out-of-memory error anywhere inside a step without losing or repeating a sample.
///
/// Recovery: every reference from the failed attempt is dropped, the gradients are
/// cleared and the BatchNorm statistics put back as they were when the step began; the
/// policy picks a smaller micro-batch and the whole step runs again on the same samples.
/// The optimiser allocates before it changes any weight, so a failure there leaves the
/// weights untouched too. The step that is finally taken sees every sample once, weighted
/// as in one big batch.
public final class StepExecutor {
    public let step: TrainingStep
    public var policy: MicroBatchPolicy
    /// Whether one sample running out of memory may climb the checkpointing ladder (the
    /// run's checkpointing is `auto`) before giving up.
    public var mayCheckpoint: Bool

    public init(step: TrainingStep, policy: MicroBatchPolicy, mayCheckpoint: Bool = false) {
        self.step = step
        self.policy = policy
        self.mayCheckpoint = mayCheckpoint
    }

    /// The next rung of the ladder above what the model checkpoints now, if any.
    private var nextCheckpointingRung: Set<ResNet.Segment>? {
        guard mayCheckpoint else { return nil }
        let current = step.model.checkpointedSegments
        return ActivationCheckpointing.ladder.first { $0.isStrictSuperset(of: current) }
    }

    public func run(_ batch: StepBatch) throws -> StepOutcome {
        var recoveries: [StepOutcome.Recovery] = []
        let statistics = try batchNormStatistics()
        while true {
            let micro = policy.currentBatch
            // The largest micro-batch the balanced cut really runs (16 under a cap of 7 is 6+5+5).
            let largest = AccumulationPlan(effectiveBatch: batch.count, microBatch: micro).sizes.max() ?? micro
            switch Result(catching: { () throws(TorchError) in try attempt(batch, microBatch: micro) }) {
            case var .success(outcome):
                outcome.recoveries = recoveries
                let retries = step.device.isCUDA ? try? step.device.memoryStatistics().allocationRetries : nil
                _ = policy.recordCleanStep(allocationRetries: retries)
                return outcome
            case let .failure(error) where error.isOutOfMemory:
                try rollBack(to: statistics)
                var requested: Int?
                if case let .outOfMemory(bytes, _) = error { requested = bytes }
                guard let next = policy.recordOutOfMemory(at: largest) else {
                    // One sample does not fit: recompute more of the network instead.
                    guard let rung = nextCheckpointingRung else {
                        throw OutOfMemoryAtOneSample(
                            resolution: batch.resolution, budgetBytes: try? step.device.memoryStatistics().budgetBytes,
                            underlying: error)
                    }
                    step.model.checkpointedSegments = rung
                    recoveries.append(.init(
                        failedMicroBatch: largest, newMicroBatch: policy.currentBatch, requestedBytes: requested,
                        checkpointedSegments: rung.sorted()))
                    continue
                }
                recoveries.append(.init(failedMicroBatch: largest, newMicroBatch: next, requestedBytes: requested))
            case let .failure(error):
                throw error
            }
        }
    }

    private func attempt(_ batch: StepBatch, microBatch: Int) throws(TorchError) -> StepOutcome {
        let plan = AccumulationPlan(effectiveBatch: batch.count, microBatch: microBatch)
        var lossSum: Tensor?
        var correct: Tensor?
        var offset = 0
        for size in plan.sizes {
            let images = try batch.images.slice(dim: 0, offset..<(offset + size))
            let labels = try batch.labels.slice(dim: 0, offset..<(offset + size))
            let result = try step.accumulate(images: images, labels: labels, weight: Double(size) / Double(batch.count))
            lossSum = try lossSum.map { (sum) throws(TorchError) in try sum + result.lossSum } ?? result.lossSum
            correct = try correct.map { (sum) throws(TorchError) in try sum + result.correct } ?? result.correct
            offset += size
        }
        let taken = try step.step()
        return StepOutcome(
            lossSum: lossSum!, correct: correct!, samples: batch.count, microBatch: plan.sizes.max() ?? plan.microBatch,
            accumulation: plan.steps, stepTaken: taken, recoveries: [])
    }

    /// Copies of the BatchNorm running statistics, to undo a failed attempt's updates.
    private func batchNormStatistics() throws(TorchError) -> [(Tensor, Tensor)] {
        try step.model.namedBuffers().map { (entry) throws(TorchError) in (entry.tensor, try entry.tensor.clone()) }
    }

    private func rollBack(to statistics: [(Tensor, Tensor)]) throws {
        try step.optimizer.zeroGrad()
        try withoutGradient { () throws(TorchError) in
            for (live, saved) in statistics { try live.copyInPlace(from: saved) }
        }
        if step.device.isCUDA { try step.device.emptyCache() }
    }
}
