import Foundation
import HeadroomData
import HeadroomFormats
import HeadroomInference
import HeadroomMemory
import HeadroomReporting
import Torch

/// What a checkpoint holds of the run's progress, and putting it back.
extension Trainer {
    func checkpointState() -> CheckpointState {
        CheckpointState(
            configuration: configuration, classNames: setup.train.classes, epoch: epoch, stepInEpoch: stepInEpoch,
            globalStep: globalStep, samplesSeen: samplesSeen, optimizerSteps: step.optimizer.stepCount, lossScaler: step.lossScaler,
            policies: Dictionary(uniqueKeysWithValues: memory.policies.map { (String($0.key), $0.value) }),
            plans: memory.plans.values.sorted { $0.resolution < $1.resolution },
            bestTop1: bestTop1, bestEpoch: bestEpoch, badSamples: trainLoader.badSamples.map(\.index),
            excludedThisEpoch: excludedThisEpoch, savedAt: Date().timeIntervalSince1970, headroomVersion: HeadroomRelease.version,
            trainingSamples: setup.train.samples.count, trainingFingerprint: setup.train.fingerprint,
            input: ModelInput(format: setup.input, normalisation: setup.normalisation), averageUpdates: average?.updates)
    }

    func saveCheckpoint(reason: Checkpointer.Reason, isBest: Bool) throws {
        guard isWriter else { return }
        let url = try checkpointer.save(step: step, state: checkpointState(), isBest: isBest, average: average)
        try recorder?.record(.checkpoint(.init(path: url.path, reason: reason.rawValue)), at: position)
        observer(.checkpointSaved(url, reason: reason))
    }

    func restore(_ state: CheckpointState, from directory: URL) throws {
        try checkpointer.restore(directory, into: step, optimizerSteps: state.optimizerSteps)
        step.restoreLossScaler(state.lossScaler)
        if let average { try checkpointer.restore(directory, into: average, updates: state.averageUpdates) }
        epoch = state.epoch
        stepInEpoch = state.stepInEpoch
        globalStep = state.globalStep
        samplesSeen = state.samplesSeen
        bestTop1 = state.bestTop1
        bestEpoch = state.bestEpoch
        excludedThisEpoch = state.excludedThisEpoch
        // Plans made under another budget are made again when their stage starts.
        memory.restore(
            plans: state.plans,
            policies: Dictionary(uniqueKeysWithValues: state.policies.compactMap { key, value in Int(key).map { ($0, value) } }))
        let train = setup.train
        trainLoader.markBad(state.badSamples.map { BadSample(index: $0, path: train.samples[$0].path, reason: "failed in an earlier session") })
        reportedBad.train = Set(state.badSamples)
    }

    /// The latest checkpoint when resuming; a damaged one stops the run before anything runs.
    static func savedRun(_ checkpointer: Checkpointer, resume: Bool, path: String) throws -> (state: CheckpointState, directory: URL)? {
        guard resume else { return nil }
        let saved: (state: CheckpointState, directory: URL)?
        do {
            saved = try checkpointer.latest()
        } catch {
            throw TrainingSetupError(problems: ["--resume: \(error)"])  // a damaged state.json: nothing runs, nothing is written
        }
        guard let saved else {
            // A run that stopped before its first checkpoint is started again (unsavedRun).
            if FileManager.default.fileExists(atPath: RunDirectory(URL(fileURLWithPath: path)).configuration.path) { return nil }
            throw TrainingSetupError(problems: ["--resume: \(path) holds no checkpoint to resume from"])
        }
        return saved
    }

    /// The settings of a run that stopped before its first checkpoint (its config.json): all
    /// there is to resume, so `--resume` starts it again from the beginning with them.
    static func unsavedRun(_ run: RunDirectory) throws -> TrainingConfiguration {
        do {
            return try JSONDecoder().decode(RunRecord.self, from: Data(contentsOf: run.configuration)).configuration
        } catch {
            throw TrainingSetupError(problems: ["--resume: \(run.configuration.path) cannot be read (\(error)), and no checkpoint was saved"])
        }
    }

    /// The check that a fresh start does not write over a run (`allowed`: an elastic restart
    /// before its first checkpoint), made before anything is built and again under the lock.
    static func refusingAnotherRun(in run: RunDirectory, resume: Bool, allowed: Bool) -> () throws -> Void {
        {
            guard !resume && run.holdsARun && !allowed else { return }
            let saved = (try? Checkpointer(runDirectory: run.url).latest()) != nil
            throw TrainingSetupError(problems: [
                "\(run.url.path) already holds a run\(saved ? "" : " that stopped before its first checkpoint"): "
                    + "\(saved ? "resume it" : "start it again") with --resume \(run.url.path), or choose another --out"
            ])
        }
    }

    /// Takes the run directory for this process: creates it, locks it, checks again under
    /// the lock that no other process started or moved the run meanwhile, and opens its records.
    static func claim(
        _ run: RunDirectory, startsFresh: () throws -> Void, resumingAt step: Int?, checkpointer: Checkpointer
    ) throws -> (RunLock?, RunRecorder?) {
        try run.prepare()
        let lock = try RunLock(directory: run.url)
        try startsFresh()
        if let step, try checkpointer.latest()?.state.globalStep != step {
            throw TrainingSetupError(problems: ["\(run.url.path) moved on while this run was starting: resume it again"])
        }
        return (lock, try RunRecorder(runDirectory: run.url, metrics: run.metrics, tensorBoard: run.tensorBoard))
    }

    /// The configuration the run trains with: a resumed run's own, with `epochs` and
    /// `memoryBudget` replaced when given; a fresh run's paths made absolute, so that a resume
    /// from another working directory reads the same data.
    static func configuration(
        _ given: TrainingConfiguration, saved: CheckpointState?, epochs: Int?, memoryBudget: MemoryBudget?
    ) -> TrainingConfiguration {
        var configuration = saved?.configuration ?? given
        if saved == nil {
            configuration.trainPath = URL(fileURLWithPath: configuration.trainPath).standardizedFileURL.path
            configuration.validationPath = URL(fileURLWithPath: configuration.validationPath).standardizedFileURL.path
        }
        if let epochs { configuration.epochs = epochs }
        if let memoryBudget { configuration.memoryBudget = memoryBudget }
        return configuration
    }

    /// The training loader (augmenting, failing or replacing a bad image as configured) and
    /// validation's (skipping bad images, never replacing them).
    static func loaders(
        _ configuration: TrainingConfiguration, train: LabeledSamples, validation: LabeledSamples, decoder: ImageDecoder,
        augmentation: SampleAugmentation?
    ) -> (train: BatchLoader, validation: BatchLoader) {
        let crop = configuration.cropScale.map { RandomResizedCrop(scale: $0) } ?? RandomResizedCrop()
        let trainLoader = BatchLoader(
            samples: train, transform: .training(crop), seed: configuration.seed, workers: configuration.workers, decoder: decoder)
        trainLoader.failsOnBadSample = configuration.onBadImage == .fail
        trainLoader.augmentation = augmentation
        let validationLoader = BatchLoader(
            samples: validation, transform: .evaluation(cropFraction: configuration.validationCropFraction), seed: configuration.seed,
            workers: configuration.workers, decoder: decoder)
        validationLoader.failsOnBadSample = configuration.onBadImage == .fail
        validationLoader.skipsBadSamples = true
        return (trainLoader, validationLoader)
    }

    /// A resumed run must see the data it started on: an epoch's order and the samples a
    /// checkpoint names are indices into it, and its classes are the model's outputs.
    static func checkResumedData(_ state: CheckpointState, train: LabeledSamples, path: String) throws {
        var problems: [String] = []
        if state.classNames != train.classes {
            problems.append("its classes are now \(train.classes.joined(separator: ", ")); the run's were \(state.classNames.joined(separator: ", "))")
        }
        if let count = state.trainingSamples, count != train.samples.count {
            problems.append("it holds \(train.samples.count) samples; the run's held \(count)")
        } else if let fingerprint = state.trainingFingerprint, fingerprint != train.fingerprint {
            problems.append("files in it were added, removed, renamed or moved between classes since the run started")
        }
        guard problems.isEmpty else {
            throw TrainingSetupError(problems: problems.map {
                "--resume: the training data \(path) changed: \($0). Resume with the data the run started on, or start a new run"
            })
        }
    }

}
