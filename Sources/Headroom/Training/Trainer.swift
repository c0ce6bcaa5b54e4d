public import Foundation
public import Torch
import TorchNN
import TorchOptim

/// Trains a ResNet classifier by the configuration, keeping the one rule: every optimiser
/// step sees exactly the effective batch, however memory forces the micro-batching.
///
/// `run()` reads like torchvision's reference loop: for each epoch, train one epoch (at
/// the stage's resolution, planned for memory when the stage starts), evaluate,
/// checkpoint. Everything the run produces goes to the run directory.
public final class Trainer: @unchecked Sendable {
    // @unchecked: `stopRequested` is the only state touched from another thread (a signal
    // handler), and it is guarded by `lock`.
    public let configuration: TrainingConfiguration
    public let directory: RunDirectory
    public let device: Device
    public let precision: Precision
    public let budgetBytes: Int
    public let step: TrainingStep
    let train: LabeledSamples
    let validation: LabeledSamples
    let trainLoader: BatchLoader
    let validationLoader: BatchLoader
    let observer: @Sendable (TrainerEvent) -> Void
    /// The run's process group when data-parallel; nil for a single process.
    public let dataParallel: DataParallel?
    /// Rank 0 (or a single process) writes the run directory; other ranks only train.
    var isWriter: Bool { dataParallel?.isWriter ?? true }
    let metrics: MetricsWriter?
    let checkpointer: Checkpointer
    /// Rank 0's hold on the run directory, for as long as this trainer lives.
    private let runLock: RunLock?
    var tensorBoard: TensorBoardWriter?
    let lock = NSLock()
    var stopRequested = false
    /// Validation images already named as unreadable (they are skipped every epoch).
    private var reportedBadValidation = Set<Int>()

    // Progress, saved in checkpoints.
    var epoch = 0
    var stepInEpoch = 0
    var globalStep = 0
    var samplesSeen = 0
    var policies: [Int: MicroBatchPolicy] = [:]
    var plans: [ResolutionPlan] = []
    var bestTop1: Double?
    var bestEpoch: Int?
    var excludedThisEpoch: [Int] = []
    var recoveries = 0
    var lastValidation: EvaluationResult?

    /// Sets up a run: checks every option and the data before anything is written, builds
    /// the model and optimiser, and restores the latest checkpoint when `resume` is set.
    ///
    /// When resuming, the run's saved configuration applies; `epochs` (when given) extends or
    /// shortens it, and the learning-rate schedule stretches to the new length.
    ///
    /// Data-parallel (`dataParallel` set): every rank calls this with the same arguments and
    /// the same run directory; they check that they agree before rank 0 writes anything, and
    /// start from rank 0's weights. `restartingUnsavedRun` (an elastic restart before the first
    /// checkpoint) lets a fresh start reuse a directory that holds a run without checkpoints.
    public init(
        configuration: TrainingConfiguration, runDirectory: URL, resume: Bool = false, epochs: Int? = nil,
        dataParallel: DataParallel? = nil, restartingUnsavedRun: Bool = false,
        observer: @escaping @Sendable (TrainerEvent) -> Void = { _ in }
    ) throws {
        let run = RunDirectory(runDirectory)
        let checkpointer = Checkpointer(runDirectory: runDirectory)
        let saved: (state: CheckpointState, directory: URL)?
        do {
            saved = resume ? try checkpointer.latest() : nil
        } catch {
            throw TrainingSetupError(problems: ["--resume: \(error)"])  // a damaged state.json: nothing runs, nothing is written
        }
        if resume && saved == nil {
            throw TrainingSetupError(problems: ["--resume: \(runDirectory.path) holds no checkpoint to resume from"])
        }
        /// A fresh start may not write over a run (an elastic restart before its first checkpoint aside).
        func refuseAnotherRun() throws {
            guard !resume && run.holdsARun && !(restartingUnsavedRun && saved == nil) else { return }
            throw TrainingSetupError(problems: [
                "\(runDirectory.path) already holds a run: resume it with --resume \(runDirectory.path), or choose another --out"
            ])
        }
        try refuseAnotherRun()
        var configuration = saved?.state.configuration ?? configuration
        if saved == nil {
            // Stored absolute, so that a resume from another working directory reads the same data.
            configuration.trainPath = URL(fileURLWithPath: configuration.trainPath).standardizedFileURL.path
            configuration.validationPath = URL(fileURLWithPath: configuration.validationPath).standardizedFileURL.path
        }
        if let epochs { configuration.epochs = epochs }
        let problems = configuration.problems()
        guard problems.isEmpty else { throw TrainingSetupError(problems: problems) }

        let (train, validation) = try Self.scanData(configuration)
        if let saved { try Self.checkResumedData(saved.state, train: train, path: configuration.trainPath) }
        // Before planning: a plan for a batch no step can fill would probe absurd sizes.
        guard configuration.batchSize <= train.samples.count else {
            throw TrainingSetupError(problems: [
                "--batch-size \(configuration.batchSize) is larger than the \(train.samples.count) training samples: "
                    + "no optimiser step could see a whole batch; lower --batch-size"
            ])
        }
        let device = try Self.resolveDevice(configuration.device, localRank: dataParallel?.environment.localRank)
        if let threads = configuration.threads { try Torch.setThreadCount(threads) }
        try Torch.manualSeed(configuration.seed)

        let model = try Self.buildModel(configuration, classCount: train.classes.count, device: device, observer: observer)
        let precision = Self.resolvePrecision(configuration.precision, device: device)
        let memoryFormat = Self.resolveMemoryFormat(configuration.channelsLast, device: device, precision: precision)
        try model.setMemoryFormat(memoryFormat)
        let trainable = model.namedParameters().map(\.tensor).filter(\.requiresGradient)
        let optimizer = try Self.buildOptimizer(configuration, parameters: trainable)
        step = try TrainingStep(
            model: model, optimizer: optimizer, device: device, precision: precision, memoryFormat: memoryFormat,
            labelSmoothing: configuration.labelSmoothing, gradientClipNorm: configuration.gradientClipNorm)
        let budget = try Self.resolveBudget(configuration, device: device)

        // Every rank agrees on what it is about to train before any of them writes a file.
        try dataParallel?.checkAgreement([
            ("the training samples", Int64(train.samples.count)), ("the classes", Int64(train.classes.count)),
            ("--batch-size", Int64(configuration.batchSize)), ("--seed", Int64(bitPattern: configuration.seed)),
            ("--epochs", Int64(configuration.epochs)), ("the parameter count", Int64(model.parameterCount)),
            ("the checkpoint's epoch", Int64(saved?.state.epoch ?? -1)),
            ("the checkpoint's step", Int64(saved?.state.globalStep ?? -1)),
        ])

        // Everything checked: from here on, files are written (by rank 0 alone).
        let isWriter = dataParallel?.isWriter ?? true
        if isWriter {
            try run.prepare()
            runLock = try RunLock(directory: runDirectory)
            // Checked again under the lock: another process may have started or moved the run
            // between the checks above and here.
            try refuseAnotherRun()
            if let saved, try checkpointer.latest()?.state.globalStep != saved.state.globalStep {
                throw TrainingSetupError(problems: ["\(runDirectory.path) moved on while this run was starting: resume it again"])
            }
        } else {
            runLock = nil
        }
        self.dataParallel = dataParallel
        self.configuration = configuration
        self.directory = run
        self.device = device
        self.precision = precision
        self.budgetBytes = budget
        self.train = train
        self.validation = validation
        self.observer = observer
        self.checkpointer = checkpointer
        metrics = isWriter ? try MetricsWriter(url: run.metrics) : nil
        let crop = configuration.cropScale.map { RandomResizedCrop(scale: $0) } ?? RandomResizedCrop()
        trainLoader = BatchLoader(samples: train, transform: .training(crop), seed: configuration.seed, workers: configuration.workers)
        trainLoader.failsOnBadSample = configuration.onBadImage == .fail
        validationLoader = BatchLoader(
            samples: validation, transform: .standardEvaluation, seed: configuration.seed, workers: configuration.workers)
        validationLoader.failsOnBadSample = configuration.onBadImage == .fail
        validationLoader.skipsBadSamples = true
        tensorBoard = isWriter ? try? TensorBoardWriter(directory: run.tensorBoard) : nil
        if let (state, directory) = saved {
            try restore(state, from: directory)
        }
        // The same start everywhere, whatever each rank initialised or read.
        try dataParallel?.broadcastState(of: model)
        try dataParallel?.allocateBucket(parameters: trainable, buffers: model.namedBuffers().map(\.tensor))
        try device.setMemoryBudget(bytes: budget)
        try writeRunRecord()
        observer(.started(startRows()))
    }

    /// Asks the run to stop after the current step, saving a checkpoint (Ctrl-C).
    public func requestStop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
    }

    var isStopRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    // MARK: - The loop

    public func run() throws -> TrainingSummary {
        var interrupted = false
        epochs: while epoch < configuration.epochs {
            let resolution = configuration.resolution(forEpoch: epoch)
            if stepInEpoch == 0 { observer(.stage(epoch: epoch, resolution: resolution)) }
            let stagePolicy = try policy(for: resolution)
            step.model.checkpointedSegments = Set(plans.first { $0.resolution == resolution }?.checkpointedSegments ?? [])
            let started = Date()
            let trainResult: EpochTraining
            do {
                trainResult = try trainOneEpoch(resolution: resolution, policy: stagePolicy)
            } catch let diverged as TrainingDiverged {
                // What was recorded up to here stays readable: the log, TensorBoard, the report.
                try? metrics?.append("diverged", ["epoch": diverged.epoch, "step": diverged.step, "loss": diverged.loss])
                try? tensorBoard?.close()
                if isWriter { _ = try? HTMLReport.write(runDirectory: directory.url) }
                throw diverged
            }
            if trainResult.interrupted {
                interrupted = true
                break epochs
            }
            guard isWriter else {
                // Evaluation, records and checkpoints are rank 0's; the others go on to the next
                // epoch and wait for it in the first step's all-reduce.
                epoch += 1
                stepInEpoch = 0
                continue
            }
            let evaluation = try evaluate()
            try finishEpoch(train: trainResult, evaluation: evaluation, seconds: Date().timeIntervalSince(started), resolution: resolution)
        }
        try? tensorBoard?.close()
        if isWriter { _ = try? HTMLReport.write(runDirectory: directory.url) }
        return TrainingSummary(
            epochsCompleted: epoch, globalSteps: globalStep, samplesSeen: samplesSeen, outOfMemoryRecoveries: recoveries,
            bestTop1: bestTop1, bestEpoch: bestEpoch, lastValidation: lastValidation, interrupted: interrupted,
            runDirectory: directory.url)
    }

    private struct EpochTraining {
        var lossSum = 0.0
        var correct = 0
        var samples = 0
        var interrupted = false
    }

    /// Trains the rest of the current epoch (all of it, or from a resumed step).
    private func trainOneEpoch(resolution: Int, policy: MicroBatchPolicy) throws -> EpochTraining {
        if stepInEpoch == 0 {
            excludedThisEpoch = trainLoader.badSamples.map(\.index)
            // Each rank meets its own unreadable images; the order must leave out the same ones.
            if let dataParallel { excludedThisEpoch = try dataParallel.union(of: excludedThisEpoch) }
        }
        let order = EpochOrder(samples: train.samples.count, seed: configuration.seed, epoch: epoch, excluded: Set(excludedThisEpoch))
        let effective = configuration.batchSize
        let steps = order.stepCount(effectiveBatch: effective)
        guard steps > 0 else {
            throw TrainingSetupError(problems: [
                "the training set has \(order.indices.count) usable samples, fewer than one batch of \(effective): lower --batch-size"
            ])
        }
        let executor = StepExecutor(step: step, policy: policy, mayCheckpoint: configuration.activationCheckpointing == .auto)
        executor.dataParallel = dataParallel
        let rank = dataParallel?.rank ?? 0
        let worldSize = dataParallel?.worldSize ?? 1
        let schedule = learningRateSchedule(stepsPerEpoch: steps)
        let first = stepInEpoch
        let loader = trainLoader
        let currentEpoch = epoch
        // Each rank loads its share of every step (the order is the same everywhere); the
        // step's global position is what checkpoints record, so any world size resumes it.
        let prefetcher = Prefetcher(count: steps - first, depth: 2) { offset in
            let share = order.samples(ofStep: first + offset, effectiveBatch: effective, rank: rank, worldSize: worldSize)
            var batch = try loader.batch(Array(share), resolution: resolution, epoch: currentEpoch)
            batch.stepSamples = effective
            return batch
        }
        defer { prefetcher.cancel() }
        var result = EpochTraining()
        let epochStart = Date()
        var lastCheckpoint = Date()
        var reportedBad = Set(trainLoader.badSamples.map(\.index))
        while let batch = try prefetcher.next() {
            step.optimizer.learningRate = schedule.rate(atStep: globalStep)
            try applyMemoryPressure()
            try device.resetPeakMemory()
            let stepStart = Date()
            let outcome = try executor.run(batch, stopRequested: isStopRequested)
            policies[resolution] = executor.policy
            // One host synchronisation per optimiser step: loss sum, correct count (and, data-
            // parallel, the stop votes) together. Data-parallel, they are already every rank's.
            let totals = try Tensor.stack(
                [outcome.lossSum.to(dtype: .float64), outcome.correct.to(dtype: .float64)]
                    + (outcome.stopVotes.map { [try $0.to(dtype: .float64)] } ?? [])
            ).to(device: .cpu).array(of: Double.self)
            let stepSamples = batch.stepSamples
            let loss = totals[0] / Double(stepSamples)
            result.lossSum += totals[0]
            result.correct += Int(totals[1])
            result.samples += stepSamples
            stepInEpoch += 1
            globalStep += 1
            samplesSeen += stepSamples
            let stopVoted = totals.count > 2 && totals[2] > 0
            for recovery in outcome.recoveries {
                recoveries += 1
                observer(.outOfMemory(
                    epoch: epoch, step: globalStep, resolution: resolution, failedMicroBatch: recovery.failedMicroBatch,
                    newMicroBatch: recovery.newMicroBatch, checkpointedSegments: recovery.checkpointedSegments))
                try metrics?.append("oom", [
                    "epoch": epoch, "step": globalStep, "resolution": resolution, "micro_batch": recovery.failedMicroBatch,
                    "new_micro_batch": recovery.newMicroBatch, "requested_bytes": recovery.requestedBytes,
                    "activation_checkpointing": recovery.checkpointedSegments?.map(\.rawValue),
                ])
                if let segments = recovery.checkpointedSegments, let index = plans.firstIndex(where: { $0.resolution == resolution }) {
                    // Kept with the plan, so later epochs and a resume start from it.
                    plans[index].checkpointedSegments = segments
                    plans[index].recomputeOverhead = step.model.recomputeOverhead(of: Set(segments), resolution: resolution)
                }
            }
            for bad in trainLoader.badSamples where reportedBad.insert(bad.index).inserted {
                try report(bad, split: "train")
            }
            let memory = try device.memoryStatistics()
            let elapsed = Date().timeIntervalSince(epochStart)
            let rate = Double(result.samples) / max(elapsed, 1e-9)
            let progress = StepProgress(
                epoch: epoch, epochs: configuration.epochs, stepInEpoch: stepInEpoch, stepsInEpoch: steps, globalStep: globalStep,
                loss: loss, learningRate: step.optimizer.learningRate, microBatch: outcome.microBatch,
                accumulation: outcome.accumulation, resolution: resolution, samplesPerSecond: rate, liveBytes: memory.liveBytes,
                peakBytes: memory.peakBytes, budgetBytes: memory.budgetBytes,
                epochSecondsLeft: Double(steps - stepInEpoch) * Date().timeIntervalSince(stepStart),
                sampleIndices: worldSize == 1 ? batch.sampleIndices : Array(order.samples(ofStep: stepInEpoch - 1, effectiveBatch: effective)))
            observer(.step(progress))
            try logStep(
                progress, samplesPerSecond: Double(stepSamples) / max(Date().timeIntervalSince(stepStart), 1e-9),
                allReduceSeconds: outcome.allReduceSeconds)
            // Every rank sees the same (all-reduced) loss, so all stop at this step together.
            if !loss.isFinite { throw divergence(loss: loss) }

            // Data-parallel, only the votes count: every rank sees the same ones and stops after
            // the same step (a request that came during the step is voted at the next).
            if dataParallel == nil ? isStopRequested : stopVoted {
                observer(.stopping)
                try saveCheckpoint(reason: .interrupt, isBest: false)
                result.interrupted = true
                return result
            }
            if shouldCheckpoint(since: lastCheckpoint), stepInEpoch < steps {
                try saveCheckpoint(reason: .interval, isBest: false)
                lastCheckpoint = Date()
            }
        }
        return result
    }

    /// The error that stops a run whose loss is no longer finite.
    private func divergence(loss: Double) -> TrainingDiverged {
        TrainingDiverged(
            epoch: epoch, step: globalStep, loss: loss, learningRate: step.optimizer.learningRate, precision: precision,
            gradientClipNorm: configuration.gradientClipNorm,
            lastCheckpointStep: (try? checkpointer.latest())?.state.globalStep,
            runDirectory: directory.url)
    }

    /// The budget less any simulated pressure at this step.
    private func applyMemoryPressure() throws {
        // (Per rank: each rank's budget is its own.)
        guard let pressure = configuration.memoryPressure else { return }
        let active = globalStep >= pressure.fromStep && globalStep < (pressure.untilStep ?? Int.max)
        try device.setMemoryBudget(bytes: active ? max(1, budgetBytes - pressure.bytes) : budgetBytes)
    }

    private func shouldCheckpoint(since last: Date) -> Bool {
        if let every = configuration.checkpointEverySteps, globalStep % every == 0 { return true }
        if let minutes = configuration.checkpointEveryMinutes, Date().timeIntervalSince(last) >= minutes * 60 { return true }
        return false
    }

    /// Validation at a fixed resolution, BatchNorm in evaluation mode, no gradients.
    private func evaluate() throws -> EvaluationResult {
        let resolution = configuration.resolvedValidationImageSize
        step.model.eval()
        defer { step.model.train() }
        let evaluator = Evaluator(step: step)
        let batchSize = max(1, min(128, 2 * (policies.values.map(\.currentBatch).max() ?? configuration.batchSize)))
        try evaluator.add(allOf: validationLoader, resolution: resolution, batchSize: batchSize)
        // Skipped, not replaced: named once, and left out of the counts.
        for bad in validationLoader.badSamples where reportedBadValidation.insert(bad.index).inserted {
            try report(bad, split: "val")
        }
        return try evaluator.result()
    }

    /// An image found unreadable, to the observer and the log, once.
    private func report(_ bad: BadSample, split: String) throws {
        observer(.badSample(bad))
        try metrics?.append("bad_image", ["epoch": epoch, "step": globalStep, "path": bad.path, "reason": bad.reason, "split": split])
    }

    private func finishEpoch(train result: EpochTraining, evaluation: EvaluationResult, seconds: Double, resolution: Int) throws {
        let isBest = evaluation.top1 > (bestTop1 ?? -1)
        if isBest {
            bestTop1 = evaluation.top1
            bestEpoch = epoch
        }
        lastValidation = evaluation
        let summary = EpochSummary(
            epoch: epoch, trainLoss: result.lossSum / Double(max(result.samples, 1)),
            trainTop1: Double(result.correct) / Double(max(result.samples, 1)), validation: evaluation, seconds: seconds,
            resolution: resolution, isBest: isBest, badImages: trainLoader.badSamples.count)
        try metrics?.append("epoch", [
            "epoch": epoch, "step": globalStep, "samples": samplesSeen, "train_loss": summary.trainLoss,
            "train_top1": summary.trainTop1, "val_loss": evaluation.loss, "val_top1": evaluation.top1, "val_top5": evaluation.top5,
            "epoch_seconds": seconds, "resolution": resolution, "lr": step.optimizer.learningRate,
        ])
        for (tag, value) in [
            ("epoch/train_loss", summary.trainLoss), ("epoch/train_top1", summary.trainTop1), ("epoch/val_loss", evaluation.loss),
            ("epoch/val_top1", evaluation.top1),
        ] {
            try? tensorBoard?.add(scalar: value, tag: tag, step: globalStep)
        }
        if let top5 = evaluation.top5 { try? tensorBoard?.add(scalar: top5, tag: "epoch/val_top5", step: globalStep) }
        try? tensorBoard?.flush()
        try directory.write(ConfusionRecord(classes: train.classes, matrix: evaluation.confusion), to: directory.confusion)
        observer(.validated(summary))
        epoch += 1
        stepInEpoch = 0
        try saveCheckpoint(reason: .epoch, isBest: isBest)
        _ = try? HTMLReport.write(runDirectory: directory.url)
    }
}
