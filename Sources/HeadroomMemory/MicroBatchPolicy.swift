/// What the trainer does about the micro-batch size while it runs: shrink after an
/// out-of-memory error, shrink early when CUDA starts thrashing, and grow back carefully.
///
/// Growing back: after `patience` clean optimiser steps below the planned size, the policy
/// returns to the size it had before the last shrink. A transient spike then costs a few
/// hundred steps at a smaller size, not the rest of the run; when the larger size fails
/// again, the patience doubles, so a size that truly does not fit is seldom retried.
public struct MicroBatchPolicy: Sendable, Codable, Equatable {
    /// The planner's choice, the ceiling for growing back.
    public let plannedBatch: Int
    public private(set) var currentBatch: Int
    public private(set) var model: MemoryModel?
    /// What it must fit, as the planner's plan did: the same definition of "fits".
    public let limit: MemoryLimit
    public private(set) var patience: Int
    public private(set) var cleanSteps = 0
    /// The sizes that failed (or were left while thrashing), most recent last.
    private var shrinkHistory: [Int] = []
    /// Whether the current size is a grow-back attempt not yet confirmed by a clean step.
    public private(set) var isGrowing = false
    private var lastRetries: Int?
    private var thrashingSteps = 0

    /// Steps in a row with new CUDA allocation retries before shrinking pre-emptively.
    public static let thrashThreshold = 3

    /// The samples of one optimiser step; a micro-batch below it accumulates.
    public let effectiveBatch: Int
    /// The smallest micro-batch a training BatchNorm can normalise (``ResNet/smallestTrainingBatch(resolution:)``):
    /// never shrunk below, an out-of-memory error there is the one-sample case.
    public var minimumBatch: Int { batchNormFloor ?? 1 }
    /// Optional so that a checkpoint saved before the floor existed still resumes.
    private let batchNormFloor: Int?

    public init(
        plannedBatch: Int, effectiveBatch: Int? = nil, model: MemoryModel?, limit: MemoryLimit, patience: Int = 200, minimumBatch: Int = 1
    ) {
        self.plannedBatch = plannedBatch
        batchNormFloor = max(1, min(minimumBatch, plannedBatch))
        self.effectiveBatch = effectiveBatch ?? plannedBatch
        currentBatch = plannedBatch
        self.model = model
        self.limit = limit
        self.patience = patience
    }

    /// A step at `batch` ran out of memory: the size to retry with, or nil when not even one
    /// sample fits. The fitted model, corrected by this failure, proposes the size; half is
    /// the fallback when the model has nothing smaller to say.
    public mutating func recordOutOfMemory(at batch: Int) -> Int? {
        guard batch > minimumBatch else { return nil }
        if isGrowing { patience *= 2 }
        isGrowing = false
        var next = max(minimumBatch, batch / 2)
        if let fitted = model {
            // The failure happened at the whole budget; the next size must fit as a plan does.
            let corrected = fitted.correctedForFailure(batch: batch, budget: limit.budgetBytes, accumulating: batch < effectiveBatch)
            model = corrected
            let predicted = corrected.largestBatch(within: limit.usableBytes, effectiveBatch: effectiveBatch)
            if predicted >= 1 && predicted < batch { next = max(next, predicted) }
        }
        shrinkHistory.append(batch)
        currentBatch = next
        cleanSteps = 0
        return next
    }

    /// A clean optimiser step finished; `allocationRetries` is the CUDA allocator's running
    /// count (nil on CPU). Returns the micro-batch size for the next step.
    public mutating func recordCleanStep(allocationRetries: Int? = nil) -> Int {
        isGrowing = false
        if let retries = allocationRetries {
            thrashingSteps = (lastRetries.map { retries > $0 } ?? false) ? thrashingSteps + 1 : 0
            lastRetries = retries
            if thrashingSteps >= Self.thrashThreshold, currentBatch > minimumBatch {
                // The allocator keeps flushing its cache to find room: step down before it fails.
                shrinkHistory.append(currentBatch)
                currentBatch = max(minimumBatch, currentBatch - max(1, currentBatch / 8))
                thrashingSteps = 0
                cleanSteps = 0
                return currentBatch
            }
        }
        cleanSteps += 1
        if currentBatch < plannedBatch, cleanSteps >= patience, let target = shrinkHistory.popLast() {
            currentBatch = min(target, plannedBatch)
            cleanSteps = 0
            isGrowing = true
        }
        return currentBatch
    }
}
