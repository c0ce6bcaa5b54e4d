public import Foundation
import HeadroomData
public import HeadroomDistributed
public import HeadroomExecution
import HeadroomInference
public import HeadroomMemory
public import HeadroomReporting
public import Torch

/// Trains a ResNet classifier by the configuration, keeping the one rule: every optimiser
/// step sees exactly the effective batch, however memory forces the micro-batching.
///
/// `run()` reads like torchvision's reference loop: for each epoch, train one epoch (at the
/// stage's resolution, planned for memory when the stage starts), evaluate, checkpoint. An
/// epoch is: next batch → the step executor → the recorder → the checkpoint policy. The
/// pieces are built by `RunSetup`, memory is `MemoryController`'s, and everything the run
/// writes goes through `RunRecorder` and `Checkpointer` into the run directory.
public final class Trainer: @unchecked Sendable {
    // @unchecked: `stopRequested` is the only state touched from another thread (a signal
    // handler), and it is guarded by `lock`.
    public let configuration: TrainingConfiguration
    public let directory: RunDirectory
    public let setup: RunSetup
    /// The one owner of the run's memory: budget, plans, recovery, what steps recompute.
    public let memory: MemoryController
    let trainLoader: BatchLoader
    let validationLoader: BatchLoader
    let observer: @Sendable (TrainerEvent) -> Void
    /// The run's process group when data-parallel; nil for a single process.
    public let dataParallel: DataParallel?
    /// Rank 0 (or a single process) writes the run directory; other ranks only train.
    var isWriter: Bool { dataParallel?.isWriter ?? true }
    /// metrics.jsonl, TensorBoard and the report: rank 0's alone.
    let recorder: RunRecorder?
    let checkpointer: Checkpointer
    /// Rank 0's hold on the run directory, for as long as this trainer lives.
    private let runLock: RunLock?
    let lock = NSLock()
    var stopRequested = false
    /// Images already named as unreadable (validation's are skipped every epoch).
    var reportedBad: (train: Set<Int>, validation: Set<Int>) = ([], [])

    public var step: TrainingStep { setup.step }
    public var device: Device { setup.device }
    public var precision: Precision { setup.precision }

    // Progress, saved in checkpoints.
    var epoch = 0
    var stepInEpoch = 0
    var globalStep = 0
    var samplesSeen = 0
    var bestTop1: Double?
    var bestEpoch: Int?
    var excludedThisEpoch: [Int] = []
    var recoveries = 0
    var lastValidation: EvaluationResult?
    /// `--model-ema`: the weights' moving average, and the pass that validates it.
    let average: ModelAverage?
    let averagePass: ForwardPass?

    /// Sets up a run: checks every option and the data before anything is written, builds
    /// the model and optimiser, and restores the latest checkpoint when `resume` is set.
    ///
    /// When resuming, the run's saved configuration applies; `epochs` (when given) extends or
    /// shortens it, and the learning-rate schedule stretches to the new length;
    /// `memoryBudget` (when given) replaces the budget, and plans made under another one
    /// are made again.
    ///
    /// Data-parallel (`dataParallel` set): every rank calls this with the same arguments and
    /// the same run directory; they check that they agree before rank 0 writes anything, and
    /// start from rank 0's weights. `torchrunRestart` is TorchElastic's restart count: a
    /// restart before the first checkpoint may start afresh in a directory that holds a run
    /// without checkpoints, and a resumed run's `resume` record names the restart.
    public init(
        configuration: TrainingConfiguration, runDirectory: URL, resume: Bool = false, epochs: Int? = nil,
        memoryBudget: MemoryBudget? = nil, dataParallel: DataParallel? = nil, torchrunRestart: Int = 0,
        observer: @escaping @Sendable (TrainerEvent) -> Void = { _ in }
    ) throws {
        let run = RunDirectory(runDirectory)
        let checkpointer = Checkpointer(runDirectory: runDirectory)
        let saved = try Self.savedRun(checkpointer, resume: resume, path: runDirectory.path)
        let startsFresh = Self.refusingAnotherRun(in: run, resume: resume, allowed: torchrunRestart > 0 && saved == nil)
        try startsFresh()
        let given = resume && saved == nil ? try Self.unsavedRun(run) : configuration
        let configuration = Self.configuration(given, saved: saved?.state, epochs: epochs, memoryBudget: memoryBudget)
        let setup = try RunSetup(
            configuration, localRank: dataParallel?.environment.localRank,
            checkData: { train in
                if let saved { try Self.checkResumedData(saved.state, train: train, path: configuration.trainPath) }
            },
            observer: observer)

        // Every rank agrees on what it is about to train before any of them writes a file.
        try dataParallel?.checkAgreement([
            ("the training samples", Int64(setup.train.samples.count)), ("the classes", Int64(setup.train.classes.count)),
            ("--batch-size", Int64(configuration.batchSize)), ("--seed", Int64(bitPattern: configuration.seed)),
            ("--epochs", Int64(configuration.epochs)), ("the parameter count", Int64(setup.step.model.parameterCount)),
            ("the checkpoint's epoch", Int64(saved?.state.epoch ?? -1)),
            ("the checkpoint's step", Int64(saved?.state.globalStep ?? -1)),
            // Ranks whose CUDA tensors went to different libraries would wait in different collectives.
            ("--dist-backend (1: NCCL for CUDA tensors)", dataParallel?.group.ncclDevice == nil ? 0 : 1),
        ])

        // Everything checked: from here on, files are written (by rank 0 alone).
        (runLock, recorder) = dataParallel?.isWriter ?? true
            ? try Self.claim(run, startsFresh: startsFresh, resumingAt: saved?.state.globalStep, checkpointer: checkpointer)
            : (nil, nil)
        self.configuration = configuration
        self.setup = setup
        self.dataParallel = dataParallel
        self.directory = run
        self.observer = observer
        self.checkpointer = checkpointer
        // Data-parallel, a rank plans for its share of the step: the largest one, as the
        // first effective % worldSize ranks take one sample more.
        let worldSize = dataParallel?.worldSize ?? 1
        let synchronizesBatchNorm = configuration.syncBatchNorm == true && worldSize > 1
        memory = setup.memoryController(
            effectiveBatch: (configuration.batchSize + worldSize - 1) / worldSize, synchronizedBatchNorm: synchronizesBatchNorm)
        (trainLoader, validationLoader) = Self.loaders(
            configuration, train: setup.train, validation: setup.validation, decoder: setup.decoder, augmentation: setup.augmentation)
        (average, averagePass) = try Self.average(configuration, step: setup.step)
        if let (state, directory) = saved {
            try restore(state, from: directory)
            // The steps after that checkpoint are trained, and recorded, again.
            if let dropped = try recorder?.resume(fromCheckpointAt: state.globalStep) {
                try recorder?.record(
                    .resumed(.init(fromStep: state.globalStep, droppedRows: dropped, torchrunRestart: torchrunRestart > 0 ? torchrunRestart : nil)),
                    at: position)
            }
        }
        // The same start everywhere, whatever each rank initialised or read.
        try dataParallel?.broadcastState(of: step.model)
        if synchronizesBatchNorm { try dataParallel?.synchronizeBatchNorm(of: step.model) }
        try dataParallel?.allocateBuckets(
            parameters: step.optimizer.parameters, buffers: step.model.namedBuffers().map(\.tensor))
        step.gradientReducer = dataParallel?.gradientReducer
        try memory.enforce()
        try writeRunRecord()
        let rows = startRows()
        recorder?.record(settings: rows, at: globalStep)
        observer(.started(rows))
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
        // However the run ends, what was recorded stays readable: TensorBoard, the report.
        defer { recorder?.close() }
        while epoch < configuration.epochs {
            let resolution = configuration.resolution(forEpoch: epoch)
            if stepInEpoch == 0 { try startStage(resolution: resolution) }
            try plan(resolution: resolution)
            let started = Date()
            let trained: EpochTotals
            do {
                trained = try trainOneEpoch(resolution: resolution)
            } catch let diverged as TrainingDiverged {
                try? recorder?.record(.diverged(.init(loss: diverged.loss)), at: position)
                throw diverged
            }
            if trained.interrupted {
                interrupted = true
                break
            }
            guard isWriter else {
                // Evaluation, records and checkpoints are rank 0's; the others go on to the next
                // epoch and wait for it in the first step's all-reduce.
                epoch += 1
                stepInEpoch = 0
                continue
            }
            let evaluation = try evaluate(step.pass)
            let averageEvaluation = try averagePass.map { (pass) throws in try evaluate(pass) }
            // NaN weights or running statistics score no epoch, least of all the best.
            guard evaluation.loss.isFinite || evaluation.samples == 0 else {
                var diverged = divergence(loss: evaluation.loss)
                diverged.phase = .validation
                try? recorder?.record(.diverged(.init(loss: evaluation.loss)), at: position)
                throw diverged
            }
            try finishEpoch(
                trained, evaluation: evaluation, average: averageEvaluation, seconds: Date().timeIntervalSince(started), resolution: resolution)
        }
        return TrainingSummary(
            epochsCompleted: epoch, globalSteps: globalStep, samplesSeen: samplesSeen, outOfMemoryRecoveries: recoveries,
            bestTop1: bestTop1, bestEpoch: bestEpoch, lastValidation: lastValidation, interrupted: interrupted,
            runDirectory: directory.url)
    }

    /// Trains the rest of the current epoch (all of it, or from a resumed step).
    private func trainOneEpoch(resolution: Int) throws -> EpochTotals {
        let order = try epochOrder()
        let steps = order.stepCount(effectiveBatch: configuration.batchSize)
        let executor = StepExecutor(step: step, memory: memory, dataParallel: dataParallel)
        let schedule = learningRateSchedule(stepsPerEpoch: steps)
        let batches = prefetcher(order: order, steps: steps, resolution: resolution)
        defer { batches.cancel() }
        var totals = EpochTotals()
        let epochStart = Date()
        var lastCheckpoint = Date()
        while let batch = try batches.next() {
            step.optimizer.learningRate = schedule.rate(atStep: globalStep)
            try memory.enforce(atStep: globalStep)
            try device.resetPeakMemory()
            let stepStart = Date()
            let outcome = try executor.run(batch, stopRequested: isStopRequested)
            let result = try StepResult(outcome, samples: batch.stepSamples)  // the step's one host synchronisation
            totals.add(result)
            try updateAverage()
            stepInEpoch += 1
            globalStep += 1
            samplesSeen += result.samples
            try record(outcome, of: batch, result: result, order: order, steps: steps, started: stepStart, epochTotals: totals, since: epochStart)
            // Every rank sees the same (all-reduced) loss, so all stop at this step together.
            if !result.loss.isFinite { throw divergence(loss: result.loss) }
            // Data-parallel, only the votes count: every rank sees the same ones and stops after
            // the same step (a request that came during the step is voted at the next).
            if dataParallel == nil ? isStopRequested : result.stopVoted {
                observer(.stopping)
                try saveCheckpoint(reason: .interrupt, isBest: false)
                totals.interrupted = true
                return totals
            }
            if shouldCheckpoint(since: lastCheckpoint), stepInEpoch < steps {
                try saveCheckpoint(reason: .interval, isBest: false)
                lastCheckpoint = Date()
            }
        }
        return totals
    }

    /// Validation of `pass`'s network (the model's, or its moving average's) at a fixed
    /// resolution, BatchNorm in evaluation mode, no gradients.
    private func evaluate(_ pass: ForwardPass) throws -> EvaluationResult {
        let resolution = configuration.resolvedValidationImageSize
        let wasTraining = pass.model.isTraining
        pass.model.eval()
        defer { if wasTraining { pass.model.train() } }
        let evaluator = Evaluator(pass: pass, memory: memory.validationMemory(at: resolution))
        try evaluator.add(allOf: validationLoader, resolution: resolution, purpose: "validation")
        // Skipped, not replaced: named once, and left out of the counts.
        for bad in validationLoader.badSamples where reportedBad.validation.insert(bad.index).inserted {
            try report(bad, split: "val")
        }
        return try evaluator.result()
    }

    private func finishEpoch(
        _ trained: EpochTotals, evaluation: EvaluationResult, average: EvaluationResult?, seconds: Double, resolution: Int
    ) throws {
        let isBest = evaluation.top1 > (bestTop1 ?? -1)
        if isBest {
            bestTop1 = evaluation.top1
            bestEpoch = epoch
        }
        lastValidation = evaluation
        var summary = EpochSummary(
            epoch: epoch, trainLoss: trained.meanLoss, trainTop1: trained.top1, validation: evaluation, seconds: seconds,
            resolution: resolution, isBest: isBest, badImages: trainLoader.badSamples.count)
        summary.averageValidation = average
        try recorder?.record(EpochRecord(
            time: Date().timeIntervalSince1970, epoch: epoch, step: globalStep, samples: samplesSeen, trainLoss: summary.trainLoss,
            trainTop1: summary.trainTop1, validationLoss: evaluation.loss, validationTop1: evaluation.top1,
            validationTop5: evaluation.top5, validationStreaming: evaluation.streaming, epochSeconds: seconds,
            averageValidationLoss: average?.loss, averageValidationTop1: average?.top1, resolution: resolution,
            learningRate: step.optimizer.learningRate))
        if isBest {
            try directory.write(
                ConfusionRecord(classes: setup.train.classes, matrix: evaluation.confusion, epoch: epoch), to: directory.confusion)
        }
        observer(.validated(summary))
        epoch += 1
        stepInEpoch = 0
        try saveCheckpoint(reason: .epoch, isBest: isBest)
        recorder?.refreshReport()
    }
}
