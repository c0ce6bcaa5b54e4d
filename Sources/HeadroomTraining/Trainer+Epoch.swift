import Foundation
import HeadroomData
import HeadroomReporting
import Torch

/// The pieces of an epoch: its stage and plan, its order, its batches, and what one
/// optimiser step adds up to.
extension Trainer {
    /// Where the run is now, for the events it records.
    var position: RunEvent.Position {
        RunEvent.Position(time: Date().timeIntervalSince1970, epoch: epoch, step: globalStep)
    }

    /// An epoch at `resolution` begins (every epoch from its first step; a resolution
    /// change is what the report marks).
    func startStage(resolution: Int) throws {
        observer(.stage(epoch: epoch, resolution: resolution))
        let previous = epoch > 0 ? configuration.resolution(forEpoch: epoch - 1) : nil
        if previous != resolution { try recorder?.record(.stage(.init(resolution: resolution)), at: position) }
    }

    /// The memory plan of `resolution`: kept from earlier (or the checkpoint), or made now.
    func plan(resolution: Int) throws {
        let (plan, isNew) = try memory.plan(for: resolution, step: step)
        guard isNew else { return }
        observer(.planned(plan))
        try recorder?.record(.replan(.init(plan)), at: position)
        try writeRunRecord()
    }

    /// This epoch's order of the usable samples; at its start, the unreadable ones found so
    /// far (by any rank) are left out.
    func epochOrder() throws -> EpochOrder {
        if stepInEpoch == 0 {
            excludedThisEpoch = trainLoader.badSamples.map(\.index)
            // Each rank meets its own unreadable images; the order must leave out the same ones.
            if let dataParallel { excludedThisEpoch = try dataParallel.union(of: excludedThisEpoch) }
        }
        let order = EpochOrder(samples: setup.train.samples.count, seed: configuration.seed, epoch: epoch, excluded: Set(excludedThisEpoch))
        guard order.stepCount(effectiveBatch: configuration.batchSize) > 0 else {
            throw TrainingSetupError(problems: [
                "the training set has \(order.indices.count) usable samples, fewer than one batch of \(configuration.batchSize): lower --batch-size"
            ])
        }
        return order
    }

    /// The rest of the epoch's batches, decoded ahead. Each rank loads its share of every
    /// step (the order is the same everywhere); a step's global position is what checkpoints
    /// record, so any world size resumes it.
    func prefetcher(order: EpochOrder, steps: Int, resolution: Int) -> Prefetcher<StepBatch> {
        let (first, effective, loader, epoch) = (stepInEpoch, configuration.batchSize, trainLoader, epoch)
        let (rank, worldSize) = (dataParallel?.rank ?? 0, dataParallel?.worldSize ?? 1)
        return Prefetcher(count: steps - first, depth: 2) { offset in
            let share = order.samples(ofStep: first + offset, effectiveBatch: effective, rank: rank, worldSize: worldSize)
            let step = order.samples(ofStep: first + offset, effectiveBatch: effective)
            var batch = try loader.batch(Array(share), resolution: resolution, epoch: epoch, step: Array(step))
            batch.stepSamples = effective
            return batch
        }
    }

    /// Everything one finished step tells: recoveries, newly found bad images, the step's
    /// row and progress.
    func record(
        _ outcome: StepOutcome, of batch: StepBatch, result: StepResult, order: EpochOrder, steps: Int, started: Date,
        epochTotals: EpochTotals, since epochStart: Date
    ) throws {
        for recovery in outcome.recoveries { try record(recovery, resolution: batch.resolution) }
        if outcome.repeatsForOtherRanks > 0 {
            observer(.repeatedForAnotherRank(epoch: epoch, step: globalStep, times: outcome.repeatsForOtherRanks))
        }
        for bad in trainLoader.badSamples where reportedBad.train.insert(bad.index).inserted {
            try report(bad, split: "train")
        }
        let memoryUsed = try device.memoryStatistics()
        let stepSeconds = Date().timeIntervalSince(started)
        let worldSize = dataParallel?.worldSize
        let progress = StepProgress(
            epoch: epoch, epochs: configuration.epochs, stepInEpoch: stepInEpoch, stepsInEpoch: steps, globalStep: globalStep,
            loss: result.loss, learningRate: step.optimizer.learningRate, microBatch: outcome.microBatch,
            accumulation: outcome.accumulation, resolution: batch.resolution,
            samplesPerSecond: Double(epochTotals.samples) / max(Date().timeIntervalSince(epochStart), 1e-9),
            liveBytes: memoryUsed.liveBytes, peakBytes: memoryUsed.peakBytes, budgetBytes: memoryUsed.budgetBytes,
            epochSecondsLeft: Double(steps - stepInEpoch) * stepSeconds,
            sampleIndices: worldSize == nil
                ? batch.sampleIndices : Array(order.samples(ofStep: stepInEpoch - 1, effectiveBatch: configuration.batchSize)))
        observer(.step(progress))
        // Data-parallel: rank 0's view (its micro-batch and peak; the whole step's samples).
        try recorder?.record(StepRecord(
            time: Date().timeIntervalSince1970, epoch: epoch, step: globalStep, samples: samplesSeen, loss: result.loss,
            learningRate: progress.learningRate, microBatch: progress.microBatch, accumulation: progress.accumulation,
            resolution: progress.resolution, peakBytes: progress.peakBytes, budgetBytes: progress.budgetBytes ?? memory.limit.budgetBytes,
            samplesPerSecond: Double(result.samples) / max(stepSeconds, 1e-9), allReduceSeconds: outcome.allReduceSeconds,
            worldSize: worldSize))
    }

    /// An out-of-memory error recovered inside the step, to the observer and the log.
    private func record(_ recovery: StepOutcome.Recovery, resolution: Int) throws {
        recoveries += 1
        observer(.outOfMemory(
            epoch: epoch, step: globalStep, resolution: resolution, failedMicroBatch: recovery.failedMicroBatch,
            newMicroBatch: recovery.newMicroBatch, checkpointedSegments: recovery.checkpointedSegments, streaming: recovery.streaming,
            phase: recovery.phase, everyRank: recovery.everyRank))
        try recorder?.record(.outOfMemory(.init(
            resolution: resolution, microBatch: recovery.failedMicroBatch, newMicroBatch: recovery.newMicroBatch,
            requestedBytes: recovery.requestedBytes, activationCheckpointing: recovery.checkpointedSegments?.map(\.rawValue),
            streaming: recovery.streaming)),
            at: position)
        if recovery.checkpointedSegments != nil { try writeRunRecord() }  // config.json's plan recomputes more now
    }

    /// An image found unreadable, to the observer and the log, once.
    func report(_ bad: BadSample, split: String) throws {
        observer(.badSample(bad))
        try recorder?.record(.badImage(.init(path: bad.path, reason: bad.reason, split: split)), at: position)
    }

    /// The error that stops a run whose loss is no longer finite.
    func divergence(loss: Double) -> TrainingDiverged {
        TrainingDiverged(
            epoch: epoch, step: globalStep, loss: loss, learningRate: step.optimizer.learningRate, precision: precision,
            gradientClipNorm: configuration.gradientClipNorm,
            lastCheckpointStep: (try? checkpointer.latest())?.state.globalStep,
            runDirectory: directory.url)
    }

    func shouldCheckpoint(since last: Date) -> Bool {
        if let every = configuration.checkpointEverySteps, globalStep % every == 0 { return true }
        if let minutes = configuration.checkpointEveryMinutes, Date().timeIntervalSince(last) >= minutes * 60 { return true }
        return false
    }

    func learningRateSchedule(stepsPerEpoch: Int) -> LearningRateSchedule {
        LearningRateSchedule(
            kind: configuration.learningRateSchedule, baseRate: configuration.resolvedLearningRate,
            totalSteps: stepsPerEpoch * configuration.epochs, warmupSteps: Int(configuration.warmupEpochs * Double(stepsPerEpoch)))
    }
}

/// One optimiser step's totals, read from the device in one synchronisation: the loss sum
/// and correct count (and, data-parallel, the stop votes), already every rank's.
struct StepResult {
    var lossSum: Double
    var correct: Int
    var samples: Int
    var stopVoted: Bool

    init(_ outcome: StepOutcome, samples: Int) throws {
        let totals = try Tensor.stack(
            [outcome.lossSum.to(dtype: .float64), outcome.correct.to(dtype: .float64)]
                + (outcome.stopVotes.map { [try $0.to(dtype: .float64)] } ?? [])
        ).to(device: .cpu).array(of: Double.self)
        lossSum = totals[0]
        correct = Int(totals[1])
        self.samples = samples
        stopVoted = totals.count > 2 && totals[2] > 0
    }

    var loss: Double { lossSum / Double(samples) }
}

/// What an epoch's steps add up to.
struct EpochTotals {
    var lossSum = 0.0
    var correct = 0
    var samples = 0
    var interrupted = false

    mutating func add(_ step: StepResult) {
        lossSum += step.lossSum
        correct += step.correct
        samples += step.samples
    }

    var meanLoss: Double { lossSum / Double(max(samples, 1)) }
    var top1: Double { Double(correct) / Double(max(samples, 1)) }
}
