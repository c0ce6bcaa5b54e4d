public import HeadroomData
public import HeadroomDistributed
public import HeadroomExecution
public import HeadroomMemory
import HeadroomModels
import Torch
import TorchNN

/// Runs optimiser steps in micro-batches as the memory controller says, and recovers from
/// an out-of-memory error anywhere inside a step without losing or repeating a sample.
///
/// Recovery: every reference from the failed attempt is dropped, the gradients are
/// cleared and the BatchNorm statistics put back as they were when the step began; the
/// controller picks a smaller micro-batch (or, for one sample, more to recompute) and the
/// whole step runs again on the same samples. The optimiser allocates before it changes any
/// weight, so a failure there leaves the weights untouched too. The step that is finally
/// taken sees every sample once, weighted as in one big batch.
///
/// Data-parallel (`dataParallel` set): the micro-batches, and any recovery, stay local to
/// the rank until its gradients are launched — during the last micro-batch's backward
/// (overlapped) or after it — then it waits for the buckets and the step's small all-reduce
/// and takes the same optimiser step as every other rank. A rank that runs out of memory
/// after launching a bucket cannot repeat that collective alone: it finishes the buckets,
/// flags the failure in the small all-reduce, and every rank repeats the step (the
/// failing one smaller).
public final class StepExecutor {
    public let step: TrainingStep
    public let memory: MemoryController
    public var dataParallel: DataParallel?
    /// Set once the current attempt has taken part in the all-reduce.
    var reduced = false

    public init(step: TrainingStep, memory: MemoryController, dataParallel: DataParallel? = nil) {
        self.step = step
        self.memory = memory
        self.dataParallel = dataParallel
    }

    /// Runs one optimiser step on `batch` (the resolution's plan must exist); data-parallel,
    /// `stopRequested` is this rank's vote to stop after the step (the outcome's
    /// `stopVotes` counts every rank's).
    public func run(_ batch: StepBatch, stopRequested: Bool = false) throws -> StepOutcome {
        if let dataParallel, let synchronization = dataParallel.batchNormSynchronization {
            return try runSynchronized(batch, stopRequested: stopRequested, dataParallel: dataParallel, synchronization: synchronization)
        }
        var recoveries: [StepOutcome.Recovery] = []
        var repeats = 0
        let statistics = try batchNormStatistics()
        let resolution = batch.resolution
        while true {
            let micro = memory.microBatch(at: resolution)
            let segments = memory.recomputed(at: resolution)
            let streaming = memory.streaming(at: resolution)
            // The largest micro-batch the balanced cut really runs (16 under a cap of 7 is 6+5+5).
            let sizes = AccumulationPlan(effectiveBatch: batch.count, microBatch: micro).sizes
            reduced = false
            let attempted = Result {
                try attempt(batch, sizes: sizes, recomputing: segments, streaming: streaming, stopRequested: stopRequested)
            }
            switch attempted {
            case var .success(outcome):
                (outcome.recoveries, outcome.repeatsForOtherRanks) = (recoveries, repeats)
                recordCleanStep(at: resolution)
                return outcome
            case let .failure(error as TorchError) where error.isOutOfMemory && reduced:
                throw OutOfMemoryAfterAllReduce(underlying: error)
            case let .failure(error as TorchError) where error.isOutOfMemory:
                try rollBack(to: statistics)
                recoveries.append(try recover(from: error, microBatch: sizes.max() ?? micro, resolution: resolution))
            case let .failure(failed as FailedAfterLaunch):
                // Every rank repeats this step; this one tells them, then shrinks.
                try finishStatistics(failure: failed.underlying.isOutOfMemory ? StepTotals.recoverable : StepTotals.fatal)
                try rollBack(to: statistics)
                guard failed.underlying.isOutOfMemory else { throw failed.underlying }
                var recovery = try recover(from: failed.underlying, microBatch: sizes.max() ?? micro, resolution: resolution)
                recovery.everyRank = true
                recoveries.append(recovery)
            case .failure(is StepRepeatedForAnotherRank):
                try rollBack(to: statistics)
                repeats += 1
            case let .failure(error):
                throw error
            }
        }
    }

    /// Tells the memory controller that a step at `resolution` ran clean.
    func recordCleanStep(at resolution: Int) {
        let retries = step.device.isCUDA ? try? step.device.memoryStatistics().allocationRetries : nil
        memory.recordCleanStep(at: resolution, allocationRetries: retries)
    }

    /// Asks the memory controller what to do after `error` at `microBatch` samples: a smaller
    /// micro-batch, more recomputation or streaming; throws when not even one sample fits.
    func recover(from error: TorchError, microBatch largest: Int, resolution: Int) throws -> StepOutcome.Recovery {
        var requested: Int?
        if case let .outOfMemory(bytes, _) = error { requested = bytes }
        let phase = step.phase
        switch memory.recordOutOfMemory(at: resolution, microBatch: largest, step: step) {
        case .smallerMicroBatch(let next):
            return .init(failedMicroBatch: largest, newMicroBatch: next, requestedBytes: requested, phase: phase)
        case .recompute(let rung):
            // One sample does not fit: recompute more of the network instead.
            return .init(
                failedMicroBatch: largest, newMicroBatch: memory.microBatch(at: resolution), requestedBytes: requested,
                checkpointedSegments: rung.sorted(), phase: phase)
        case .stream(let streaming):
            return .init(
                failedMicroBatch: largest, newMicroBatch: memory.microBatch(at: resolution), requestedBytes: requested,
                checkpointedSegments: ResNet.Segment.allCases, streaming: streaming, phase: phase)
        case .none:
            throw OutOfMemoryAtOneSample(resolution: resolution, budgetBytes: memory.limit.budgetBytes, underlying: error)
        }
    }

    private func attempt(
        _ batch: StepBatch, sizes: [Int], recomputing segments: Set<ResNet.Segment>, streaming: ResNet.Streaming?,
        stopRequested: Bool
    ) throws -> StepOutcome {
        let reducer = dataParallel?.gradientReducer
        try reducer?.attachGradients()
        var totals = MicroBatchTotals()
        var offset = 0
        for (index, size) in sizes.enumerated() {
            if index == sizes.count - 1, dataParallel?.overlapsAllReduce == true { try reducer?.arm() }
            do {
                try totals.add(accumulate(batch, rows: offset..<(offset + size), recomputing: segments, streaming: streaming))
            } catch {
                guard let reducer, reducer.state == .armed else { throw error }
                // Nothing launched yet: the peers wait in the first bucket while this rank retries.
                if try reducer.progress().launched == 0 {
                    try reducer.disarm()
                    throw error
                }
                try reducer.finish(keepingSums: false)
                throw FailedAfterLaunch(underlying: error)
            }
            offset += size
        }
        return try finish(batch, sizes: sizes, totals: totals, stopRequested: stopRequested)
    }

    /// Forward and backward of `rows` of the batch, weighted as their share of the step.
    func accumulate(
        _ batch: StepBatch, rows: Range<Int>, recomputing segments: Set<ResNet.Segment>, streaming: ResNet.Streaming?
    ) throws(TorchError) -> (lossSum: Tensor, correct: Tensor) {
        var mixing: (partnerLabels: Tensor, keeps: Tensor)?
        if let partners = batch.partnerLabels, let keeps = batch.keeps {
            mixing = (try partners.slice(dim: 0, rows), try keeps.slice(dim: 0, rows))
        }
        return try step.accumulate(
            images: batch.images.slice(dim: 0, rows), labels: batch.labels.slice(dim: 0, rows), mixing: mixing,
            weight: Double(rows.count) / Double(batch.stepSamples), recomputing: segments, streaming: streaming)
    }

    /// The micro-batches' summed loss and correct count.
    struct MicroBatchTotals {
        var lossSum: Tensor?
        var correct: Tensor?

        mutating func add(_ result: (lossSum: Tensor, correct: Tensor)) throws(TorchError) {
            lossSum = try lossSum.map { (sum) throws(TorchError) in try sum + result.lossSum } ?? result.lossSum
            correct = try correct.map { (sum) throws(TorchError) in try sum + result.correct } ?? result.correct
        }
    }

    /// After the last micro-batch: data-parallel, the gradients' buckets (what was not
    /// overlapped with backward) and the small all-reduce; then the optimiser step.
    func finish(_ batch: StepBatch, sizes: [Int], totals: MicroBatchTotals, stopRequested: Bool) throws -> StepOutcome {
        // A rank whose share had no samples (synchronised BatchNorm) still reports totals.
        var lossSum: Tensor
        if let sum = totals.lossSum { lossSum = sum } else { lossSum = try Tensor.zeros([], dtype: step.precision.parameterType, device: step.device) }
        var correct: Tensor
        if let sum = totals.correct { correct = sum } else { correct = try Tensor.zeros([], dtype: .int64, device: step.device) }
        var stopVotes: Tensor?
        var allReduceSeconds: Double?
        if let dataParallel {
            // One type with the gradients, so that everything shares one bucket.
            let type = step.precision.parameterType
            let reduced = try Tensor.stack([
                lossSum.to(dtype: type), correct.to(dtype: type), Tensor(scalar: Float(stopRequested ? 1 : 0)).to(dtype: type),
                Tensor(scalar: Float(0)).to(dtype: type),
            ])
            let buffers = step.model.namedBuffers().map(\.tensor)
            // The time the ranks wait here, after backward: what overlapping did not hide.
            let started = ContinuousClock.now
            if let reducer = dataParallel.gradientReducer, reducer.state != .finished { try reducer.finish(keepingSums: true) }
            try dataParallel.synchronize(buffers: buffers, totals: reduced)
            self.reduced = true
            allReduceSeconds = (ContinuousClock.now - started).seconds
            let failures = try reduced.select(dim: 0, index: 3).item()
            if failures >= StepTotals.fatal { throw SynchronizedStepStopped(reason: "another rank failed after launching its gradients") }
            if failures > 0 {
                self.reduced = false
                throw StepRepeatedForAnotherRank()
            }
            lossSum = try reduced.select(dim: 0, index: 0)
            correct = try reduced.select(dim: 0, index: 1)
            stopVotes = try reduced.select(dim: 0, index: 2)
        }
        let taken = try step.step()
        return StepOutcome(
            lossSum: lossSum, correct: correct, samples: batch.count, stopVotes: stopVotes, allReduceSeconds: allReduceSeconds,
            microBatch: sizes.max() ?? 0, accumulation: sizes.count, stepTaken: taken, recoveries: [])
    }

    /// The small all-reduce of a step abandoned after its gradients were launched: this
    /// rank's `failure` word, nothing else that counts.
    private func finishStatistics(failure: Double) throws(TorchError) {
        guard let dataParallel else { return }
        let totals = try Tensor([0, 0, 0, failure], shape: [StepTotals.count]).to(dtype: step.precision.parameterType)
        try dataParallel.synchronize(buffers: step.model.namedBuffers().map(\.tensor), totals: totals)
    }

    /// Copies of the BatchNorm running statistics, to undo a failed attempt's updates.
    func batchNormStatistics() throws(TorchError) -> [(Tensor, Tensor)] {
        try step.model.namedBuffers().map { (entry) throws(TorchError) in (entry.tensor, try entry.tensor.clone()) }
    }

    func rollBack(to statistics: [(Tensor, Tensor)]) throws {
        try step.optimizer.zeroGrad()
        try withoutGradient { () throws(TorchError) in
            for (live, saved) in statistics { try live.copyInPlace(from: saved) }
        }
        if step.device.isCUDA { try step.device.emptyCache() }
    }
}

/// This rank's step failed after some of its gradient buckets were launched.
struct FailedAfterLaunch: Error {
    var underlying: TorchError
}

/// Another rank failed after launching its gradients: every rank repeats the step.
struct StepRepeatedForAnotherRank: Error {}
