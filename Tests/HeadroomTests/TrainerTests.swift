import Foundation
import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels
@testable import HeadroomData
@testable import HeadroomExecution
@testable import HeadroomMemory
@testable import HeadroomReporting
@testable import HeadroomTraining

/// End-to-end runs on a small generated JPEG set.
@Suite(.serialized) struct TrainerTests {
    let scratch: TemporaryDirectory
    var root: URL { scratch.url }
    let data: (train: URL, validation: URL)

    init() throws {
        scratch = try TemporaryDirectory("headroom-trainer")
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "squares", "stripes"]  // 24 images: three steps of 8
        dataset.trainPerClass = 8
        dataset.validationPerClass = 2
        data = try dataset.write(to: scratch.url.appendingPathComponent("data"))
    }

    func configuration(resolution: Int = 64, epochs: Int = 1, micro: Int? = nil, precision: PrecisionChoice = .fp32) -> TrainingConfiguration {
        var config = TrainingConfiguration(trainPath: data.train.path, validationPath: data.validation.path)
        config.epochs = epochs
        config.batchSize = 8
        config.imageSize = resolution
        config.learningRate = 0.01
        config.device = .device(.cpu)
        config.workers = 2
        config.forcedMicroBatch = micro
        config.precision = precision  // not auto: that depends on the CPU's bf16 support
        config.channelsLast = false  // not auto either: channels-last where the CPU has AVX-512
        return config
    }

    /// One run; returns its step records (loss, samples, micro-batch) and final weights.
    func train(
        _ config: TrainingConfiguration, in name: String, resume: Bool = false, epochs: Int? = nil, stopAfterStep: Int? = nil
    ) throws -> (steps: [StepProgress], summary: TrainingSummary, weights: [[Double]]) {
        let collector = Collector()
        let directory = root.appendingPathComponent(name)
        let trainer = try Trainer(configuration: config, runDirectory: directory, resume: resume, epochs: epochs) { event in
            collector.add(event)
        }
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        collector.onStep = { [weak trainer] progress in if progress.globalStep == stopAfterStep { trainer?.requestStop() } }
        let summary = try trainer.run()
        let weights = try trainer.step.model.stateDict().map { try $0.tensor.to(dtype: .float64).array(of: Double.self) }
        return (collector.steps, summary, weights)
    }

    /// The trainer-level check: squeezed by a budget that fits 4 but not 8, a run forced to 8
    /// recovers, sees every sample once in the same order, and follows the unconstrained loss
    /// curve. (BatchNorm in training mode normalises over each micro-batch, so the curves
    /// differ a little; StepExecutorTests shows the step itself is exact with BN frozen.)
    @Test func anOutOfMemoryRunFollowsTheUnconstrainedOne() throws {
        // 160 px: activations outweigh the gradients accumulation holds, so 4 needs less than 8.
        let halves = try train(configuration(resolution: 160, micro: 4), in: "halves")
        let wholes = try train(configuration(resolution: 160, micro: 8), in: "wholes")
        let four = try #require(halves.steps.map(\.peakBytes).max())
        let eight = try #require(wholes.steps.map(\.peakBytes).max())
        try #require(four < eight)

        var squeezed = configuration(resolution: 160, micro: 8)
        squeezed.memoryBudget = .bytes((four + eight) / 2)
        let recovered = try train(squeezed, in: "squeezed")
        #expect(recovered.summary.outOfMemoryRecoveries >= 1)
        #expect(recovered.steps.last?.microBatch == 4)
        #expect(recovered.steps.allSatisfy { $0.peakBytes <= (four + eight) / 2 })
        // Every sample of the epoch once, in the order of the unconstrained run.
        let seen = recovered.steps.flatMap(\.sampleIndices)
        #expect(Set(seen).count == seen.count)
        #expect(seen.count == 24)
        #expect(seen == wholes.steps.flatMap(\.sampleIndices))
        // The unconstrained loss curve within 10%: the first step fits at 8 (no momentum yet)
        // and is identical; later ones normalise over micro-batches of 4.
        #expect(recovered.steps.first?.loss == wholes.steps.first?.loss)
        expectClose(recovered.steps.map(\.loss), wholes.steps.map(\.loss), within: .approximation(0.1, "BatchNorm over micro-batches of 4, not 8"))
    }

    @Test func resumingMidEpochContinuesTheSameRun() throws {
        let config = configuration(epochs: 2, micro: 8, precision: .fp64)
        let straight = try train(config, in: "straight")
        let first = try train(config, in: "interrupted", stopAfterStep: 2)  // mid-epoch: step 2 of 3
        #expect(first.summary.interrupted)
        #expect(first.steps.count == 2)
        // As if the run had been killed after logging step 3, before its next checkpoint.
        let metrics = RunDirectory(root.appendingPathComponent("interrupted")).metrics
        let handle = try FileHandle(forWritingTo: metrics)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((#"{"type":"step","time":1,"epoch":0,"step":3,"samples":24,"loss":1,"lr":0.01,"micro_batch":8,"accumulation":1,"resolution":64,"peak_bytes":1,"budget_bytes":2,"samples_per_s":1}"# + "\n").utf8))
        try handle.close()
        let rest = try train(config, in: "interrupted", resume: true)
        #expect(rest.steps.first?.globalStep == 3)
        #expect(rest.steps.first?.stepInEpoch == 3)
        let samples = first.steps.flatMap(\.sampleIndices) + rest.steps.flatMap(\.sampleIndices)
        #expect(samples == straight.steps.flatMap(\.sampleIndices))
        expectClose(first.steps.map(\.loss) + rest.steps.map(\.loss), straight.steps.map(\.loss), within: .exactInFloat64)
        expectClose(rest.weights, straight.weights, within: .exactInFloat64)
        // Every step is logged once, and the one stage at the start of training.
        let log = try MetricsLog(contentsOf: metrics)
        #expect(log.steps.map(\.step) == Array(1...6))
        #expect(log.events.filter { if case .stage = $0.event { true } else { false } }.map(\.position.step) == [0])
        // The resume is recorded: from the checkpoint after step 2, the killed run's step 3 dropped.
        let resumes = log.events.compactMap { if case let .resumed(resumed) = $0.event { resumed } else { nil } }
        #expect(resumes == [.init(fromStep: 2, droppedRows: 1, torchrunRestart: nil)])
        // The run directory holds what a person looks for.
        let run = RunDirectory(root.appendingPathComponent("interrupted"))
        for file in [run.configuration, run.metrics, run.confusion, run.report, run.checkpoints.appendingPathComponent("last.safetensors"),
                     run.checkpoints.appendingPathComponent("best.safetensors")] {
            #expect(FileManager.default.fileExists(atPath: file.path), "\(file.lastPathComponent) missing")
        }
    }

    /// `plan` and training build their step in one place, so with the same options (label
    /// smoothing and clipping included) the plan `plan` verifies is the one training makes,
    /// and the first step runs it within the headroom the plan keeps free.
    @Test func planMeasuresWhatTrainingRuns() throws {
        var config = configuration(resolution: 96)
        config.forcedMicroBatch = nil
        config.labelSmoothing = 0.1
        config.gradientClipNorm = 1
        let planned = try #require(try RunPlan.make(for: config).resolutions.first)
        _ = try train(config, in: "planned")
        let log = try MetricsLog(contentsOf: RunDirectory(root.appendingPathComponent("planned")).metrics)
        let replans = log.events.compactMap { if case .replan(let replan) = $0.event { replan } else { nil } }
        #expect(replans.count == 1)
        #expect(replans.first?.microBatch == planned.microBatch)
        #expect(replans.first?.verifiedPeakBytes == planned.verifiedPeakBytes)
        // The first step has no momentum buffers yet, which the plan's steps (after a warm-up
        // step, as training runs from the second step on) hold: it peaks below the plan.
        let first = try #require(log.steps.first)
        #expect(first.microBatch == planned.microBatch)
        #expect(first.peakBytes <= planned.verifiedPeakBytes)
        let steady = try #require(log.steps.dropFirst().first)
        let gap = abs(Double(steady.peakBytes - planned.verifiedPeakBytes)) / Double(planned.verifiedPeakBytes)
        #expect(gap <= 0.02, "steps \(log.steps.map(\.peakBytes)) B, verified \(planned.verifiedPeakBytes) B")
    }

    /// Resume checks what it reads back: the data set it started on (images removed after a
    /// mid-epoch stop crashed it), and a state.json that is truncated or impossible.
    @Test func resumeRefusesChangedDataAndDamagedState() throws {
        let copy = root.appendingPathComponent("resume-data")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: data.train, to: copy)
        var config = configuration(epochs: 2, micro: 8)
        config.trainPath = copy.path
        let first = try train(config, in: "resume-checked", stopAfterStep: 2)
        #expect(first.summary.interrupted)
        func expectResumeRefused(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try train(config, in: "resume-checked", resume: true)
                Issue.record("resumed", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
        }
        // Two images removed.
        func firstFile(in folder: String) throws -> URL {
            let name = try #require(try FileManager.default.contentsOfDirectory(atPath: copy.appendingPathComponent(folder).path).sorted().first)
            return copy.appendingPathComponent(folder).appendingPathComponent(name)
        }
        let (square, stripe) = (try firstFile(in: "squares"), try firstFile(in: "stripes"))
        let (squareBytes, stripeBytes) = (try Data(contentsOf: square), try Data(contentsOf: stripe))
        try FileManager.default.removeItem(at: square)
        try FileManager.default.removeItem(at: stripe)
        expectResumeRefused("it holds 22 samples; the run's held 24")
        // The same count, another file: the fingerprint.
        try squareBytes.write(to: square)
        let renamed = stripe.deletingLastPathComponent().appendingPathComponent("renamed-\(stripe.lastPathComponent)")
        try stripeBytes.write(to: renamed)
        expectResumeRefused("files in it were added, removed, renamed")
        try FileManager.default.moveItem(at: renamed, to: stripe)

        // The state file, damaged.
        let state = try #require(try Checkpointer(runDirectory: root.appendingPathComponent("resume-checked")).latest()).directory
            .appendingPathComponent("state.json")
        let text = try String(contentsOf: state, encoding: .utf8)
        try text.replacingOccurrences(of: "\"stepInEpoch\" : 2", with: "\"stepInEpoch\" : -3").write(to: state, atomically: true, encoding: .utf8)
        expectResumeRefused("stepInEpoch is -3, below 0")
        try String(text.prefix(text.count / 2)).write(to: state, atomically: true, encoding: .utf8)
        expectResumeRefused("not valid JSON")
        try text.write(to: state, atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { _ = try train(config, in: "resume-checked", resume: true) }
    }

    @Test func badOptionsFailBeforeAnythingIsWritten() throws {
        func expectRefused(_ config: TrainingConfiguration, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let directory = root.appendingPathComponent("refused-\(UUID())")
            do {
                _ = try Trainer(configuration: config, runDirectory: directory)
                Issue.record("accepted a bad configuration", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(fragment), "\(error)", sourceLocation: sourceLocation)
            }
            #expect(!FileManager.default.fileExists(atPath: directory.path), "wrote \(directory.path)", sourceLocation: sourceLocation)
        }
        var config = configuration()
        config.learningRate = 0
        expectRefused(config, "--lr")
        config = configuration()
        config.batchSize = 0
        expectRefused(config, "--batch-size")
        config.batchSize = 25  // the set holds 24: no step could be whole (and no plan is probed for it)
        expectRefused(config, "larger than the 24 training samples")
        // NaN compares false with every bound: it must still be refused, before anything runs.
        config = configuration()
        config.momentum = .nan
        expectRefused(config, "--momentum")
        config = configuration()
        config.warmupEpochs = .nan
        expectRefused(config, "--warmup-epochs")
        config = configuration()
        config.validationImageSize = 0
        expectRefused(config, "--val-image-size")
        config = configuration()
        config.trainPath = "/nonexistent/train"
        expectRefused(config, "does not exist")
        config = configuration()
        config.memoryBudget = .bytes(4 << 50)  // 4096 TiB: more than this machine has
        expectRefused(config, "more than the")
        // Validation classes that differ from training's.
        let other = root.appendingPathComponent("other-val")
        try FileManager.default.createDirectory(at: other.appendingPathComponent("dogs"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: data.validation.appendingPathComponent("circles/0000.jpg"), to: other.appendingPathComponent("dogs/0000.jpg"))
        config = configuration()
        config.validationPath = other.path
        expectRefused(config, "dogs")
        // A run directory that cannot be created.
        let file = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        do {
            _ = try Trainer(configuration: configuration(), runDirectory: file.appendingPathComponent("run"))
            Issue.record("trained into a directory under a file")
        } catch {
            #expect("\(error)".contains("cannot create the run directory"))
        }
    }

    @Test func aBrokenImageIsReplacedAndReportedOrStopsTheRunWhenAskedTo() throws {
        // A copy of the training set with one JPEG cut short and one text file named .jpg.
        let broken = root.appendingPathComponent("broken-train")
        try? FileManager.default.removeItem(at: broken)
        try FileManager.default.copyItem(at: data.train, to: broken)
        let victim = broken.appendingPathComponent("squares/0001.jpg")
        let bytes = try Data(contentsOf: victim)
        try bytes.prefix(bytes.count / 3).write(to: victim)
        try Data("not an image".utf8).write(to: broken.appendingPathComponent("circles/0002.jpg"))

        var config = configuration(micro: 8)
        config.trainPath = broken.path
        let skipped = try train(config, in: "broken-skip")
        #expect(skipped.steps.count == 3)
        #expect(skipped.steps.allSatisfy { $0.sampleIndices.count == 8 })
        let used = Set(skipped.steps.flatMap(\.sampleIndices))
        let samples = try ImageFolder(root: broken.path).scan().samples
        let bad = Set(samples.indices.filter { samples[$0].path.hasSuffix("squares/0001.jpg") || samples[$0].path.hasSuffix("circles/0002.jpg") })
        #expect(used.isDisjoint(with: bad))
        let metrics = try String(contentsOf: root.appendingPathComponent("broken-skip/metrics.jsonl"), encoding: .utf8)
        #expect(metrics.components(separatedBy: "\"bad_image\"").count - 1 == 2)

        config.onBadImage = .fail
        #expect(throws: BadSample.self) { try train(config, in: "broken-fail") }
    }

    /// An empty x.jpg in val/circles: named in the log, left out of validation (a stand-in
    /// of another class would make the counts wrong), and --on-bad-image fail honoured.
    @Test func aBrokenValidationImageIsSkippedAndNamedNotReplaced() throws {
        let validation = root.appendingPathComponent("broken-val")
        try? FileManager.default.removeItem(at: validation)
        try FileManager.default.copyItem(at: data.validation, to: validation)
        try Data().write(to: validation.appendingPathComponent("circles/x.jpg"))
        var config = configuration(micro: 8)
        config.validationPath = validation.path
        let run = try train(config, in: "broken-val-skip")
        #expect(run.summary.lastValidation?.samples == 6)  // 7 files, one unreadable
        let confusion = try #require(run.summary.lastValidation?.confusion)
        #expect(confusion.map { $0.reduce(0, +) } == [2, 2, 2])
        let metrics = try String(contentsOf: root.appendingPathComponent("broken-val-skip/metrics.jsonl"), encoding: .utf8)
        let rows = metrics.split(separator: "\n").filter { $0.contains("\"bad_image\"") }
        #expect(rows.count == 1 && rows[0].contains("x.jpg") && rows[0].contains(#""split":"val""#), "\(rows)")

        config.onBadImage = .fail
        #expect(throws: BadSample.self) { try train(config, in: "broken-val-fail") }
    }

    @Test func anInterruptedCheckpointWriteLeavesThePreviousOneLoadable() throws {
        let run = try train(configuration(micro: 8), in: "checkpointed")
        let checkpointer = Checkpointer(runDirectory: root.appendingPathComponent("checkpointed"))
        let before = try #require(try checkpointer.latest())
        // A save killed half-way: a partial directory with a truncated weights file.
        let partial = checkpointer.directory.appendingPathComponent(".step-00000099.partial")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 100).write(to: partial.appendingPathComponent("model.safetensors"))
        let after = try #require(try checkpointer.latest())
        #expect(after.state.globalStep == before.state.globalStep)
        let weights = try ModelFile.read(after.directory.appendingPathComponent("model.safetensors")).tensors
        #expect(weights.count == 122)
        #expect(run.summary.globalSteps == 3)
        // Resuming a finished run trains no more; asking for more epochs continues it.
        let resumed = try train(configuration(micro: 8), in: "checkpointed", resume: true)
        #expect(resumed.steps.isEmpty)
        let extended = try train(configuration(micro: 8), in: "checkpointed", resume: true, epochs: 2)
        #expect(extended.steps.count == 3)
        #expect(extended.steps.first?.globalStep == 4)
        #expect(extended.steps.first?.epoch == 1)
    }

    /// The ladder's last rung: under a budget where one plain sample does not fit but a
    /// checkpointed one does, `auto` trains where `off` stops before the first step.
    @Test func aSampleThatFitsOnlyCheckpointedStillTrains() throws {
        var config = configuration(resolution: 192)
        config.memoryHeadroom = 0
        config.activationCheckpointing = .off
        let plain = try #require(try RunPlan.measure(config, batch: 1))
        config.activationCheckpointing = .segments(Set(ResNet.Segment.allCases))
        let checkpointed = try #require(try RunPlan.measure(config, batch: 1))
        try #require(checkpointed < plain)
        config.memoryBudget = .bytes((plain + checkpointed) / 2)

        config.activationCheckpointing = .off
        #expect(throws: PlanningError.self) { try train(config, in: "ladder-off") }

        config.activationCheckpointing = .auto
        let run = try train(config, in: "ladder-auto")
        #expect(run.summary.epochsCompleted == 1)
        #expect(run.steps.count == 3)
        #expect(run.steps.allSatisfy { $0.peakBytes <= (plain + checkpointed) / 2 })
        // The choice is logged with the replan.
        let lines = try String(contentsOf: root.appendingPathComponent("ladder-auto/metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let replan = try #require(lines.first { $0["type"] as? String == "replan" })
        #expect((replan["activation_checkpointing"] as? [String])?.isEmpty == false)
        #expect((replan["recompute_overhead"] as? Double ?? 0) > 0)
    }

    /// --lr 1e30: the second step's loss is NaN. The run stops there with a message that
    /// says what to change, keeps the checkpoint of step 1 as it was, logs null (not an
    /// invalid NaN) with the reason, and still writes its report.
    @Test func aDivergingRunStopsCleanlyAndKeepsItsLastGoodCheckpoint() throws {
        var config = configuration(epochs: 2, micro: 8)
        config.learningRate = 1e30
        config.checkpointEverySteps = 1
        let run = root.appendingPathComponent("diverged")
        do {
            _ = try train(config, in: "diverged")
            Issue.record("a run at --lr 1e30 finished")
        } catch let error as TrainingDiverged {
            #expect(error.step == 2 && error.lastCheckpointStep == 1, "\(error)")
            #expect(error.description.contains("NaN at step 2") && error.description.contains("--lr"), "\(error)")
        }
        let latest = try #require(try Checkpointer(runDirectory: run).latest())
        #expect(latest.state.globalStep == 1)
        let weights = try ModelFile.read(latest.directory.appendingPathComponent("model.safetensors")).tensors
        #expect(try weights.allSatisfy { try $0.tensor.to(dtype: .float64).array(of: Double.self).allSatisfy(\.isFinite) })
        let log = try MetricsLog(contentsOf: run.appendingPathComponent("metrics.jsonl"))
        #expect(log.malformedLines.isEmpty)
        #expect(log.steps.count == 2 && log.steps[1].loss.isNaN)
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(text.contains(#""non_finite":{"loss":"nan"}"#) && text.contains(#""type":"diverged""#), "\(text)")
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("report.html").path))
    }

    /// A training BatchNorm normalises by batch statistics, so a NaN running variance (here
    /// from the weights the run starts from; at 32 px and micro-batch 1 it was a 1×1 map's)
    /// leaves every training loss finite and poisons only validation. That is a divergence,
    /// never a "best" epoch finishing with exit 0.
    @Test func aNonFiniteValidationIsADivergenceNotABestEpoch() throws {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 1))
        let poisoned = try model.stateDict().map { entry throws -> (String, Tensor) in
            entry.name == "layer4.1.bn2.running_var" ? (entry.name, try Tensor.full(entry.tensor.shape, value: .nan)) : (entry.name, entry.tensor)
        }
        let weights = root.appendingPathComponent("nan-running-var.safetensors")
        try ModelFile.write(poisoned, metadata: [:], to: weights)
        var config = configuration()
        config.weightsPath = weights.path
        let run = root.appendingPathComponent("nan-validation")
        do {
            let trained = try train(config, in: "nan-validation")
            Issue.record("finished with validation loss \(String(describing: trained.summary.lastValidation?.loss))")
        } catch let error as TrainingDiverged {
            #expect(error.phase == .validation && error.description.contains("validation loss became NaN"), "\(error)")
            #expect(error.description.contains("running statistics"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/best.safetensors").path))
    }

    /// A run that stopped before its first checkpoint (here it diverged at step 2) holds a
    /// config.json and a log but nothing to continue from: a fresh start there is refused with
    /// what to do, and --resume starts it again with its saved settings (it used to refuse both).
    @Test func aRunThatStoppedBeforeItsFirstCheckpointCanBeStartedAgain() throws {
        var config = configuration(epochs: 1, micro: 8)
        config.learningRate = 1e30
        let run = root.appendingPathComponent("unsaved")
        #expect(throws: TrainingDiverged.self) { try train(config, in: "unsaved") }
        #expect(try Checkpointer(runDirectory: run).latest() == nil)
        do {
            _ = try Trainer(configuration: configuration(), runDirectory: run)
            Issue.record("a fresh start wrote over a run")
        } catch let error as TrainingSetupError {
            #expect(error.description.contains("before its first checkpoint") && error.description.contains("--resume"), "\(error)")
        }
        // Resumed with the run's own settings (lr 1e30, not the given configuration's 0.01): it trains, and diverges again.
        let resumed = try Trainer(configuration: configuration(), runDirectory: run, resume: true)
        #expect(resumed.configuration.learningRate == 1e30)
        #expect(throws: TrainingDiverged.self) { try resumed.run() }
    }

    /// Validation follows --streaming as the steps do: `off` gives validation no rung of bands
    /// (the trainer's one memory owner hands validation its policy), `auto` does.
    @Test func validationHonoursTheStreamingOption() throws {
        for choice in [StreamingChoice.off, .auto] {
            var config = configuration()
            config.streaming = choice
            let trainer = try Trainer(configuration: config, runDirectory: root.appendingPathComponent("streaming-\(choice)"))
            let validation = trainer.memory.validationMemory(at: config.resolvedValidationImageSize)
            #expect(validation.streamingChoice == choice)
            while case .smallerMicroBatch = validation.recordOutOfMemory(resolution: config.resolvedValidationImageSize) {}
            #expect((validation.streaming == nil) == (choice == .off), "\(choice): \(validation.streaming.map(String.init(describing:)) ?? "no bands")")
        }
    }

    /// At 32 px layer4's map is 1×1: a micro-batch of 1 is refused before anything runs
    /// (PyTorch refuses the step itself), unless BatchNorm is frozen.
    @Test func aMicroBatchGivingBatchNormOneValueIsRefused() throws {
        var config = configuration(resolution: 32, micro: 1)
        #expect(config.problems().contains { $0.contains("--micro-batch 1 at 32 px") && $0.contains("--freeze-bn") })
        config.batchSize = 1
        config.forcedMicroBatch = nil
        #expect(config.problems().contains { $0.contains("--batch-size 1 at 32 px") })
        config.freezeBatchNorm = true
        #expect(!config.problems().contains { $0.contains("one value per channel") })
        config.freezeBatchNorm = nil
        config.imageSize = 64  // 2×2: four values a sample
        #expect(!config.problems().contains { $0.contains("one value per channel") })
    }

    /// Small on purpose: on a CPU without native bf16 (AVX2), bf16 autocast runs generic
    /// kernels about ten times slower than fp32.
    @Test func bf16OnTheCPURunsAndLearns() throws {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 1))
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.02, momentum: 0.9)
        let step = try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .bf16)
        let loader = BatchLoader(
            samples: try ImageFolder(root: data.train.path).scan(), transform: .standardEvaluation, seed: 0, workers: 2)
        let batch = try loader.batch([0, 1, 8, 9, 16, 17], resolution: 32, epoch: 0)  // two of each class
        var losses: [Double] = []
        for _ in 0..<8 {
            let result = try step.accumulate(images: batch.images, labels: batch.labels, weight: 1)
            try step.step()
            losses.append(try result.lossSum.item() / 6)
        }
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(losses.last! < losses.first! * 0.7, "bf16 losses \(losses)")
    }
}
/// Gathers the trainer's events (delivered on the training thread).
final class Collector: @unchecked Sendable {
    var steps: [StepProgress] = []
    var onStep: (StepProgress) -> Void = { _ in }

    func add(_ event: TrainerEvent) {
        if case let .step(progress) = event {
            steps.append(progress)
            onStep(progress)
        }
    }
}


/// A disk that fills up while a checkpoint is written: a clear error, and the previous
/// checkpoint whole. Needs a small tmpfs, so it runs where the tests may mount one (as root).
@Suite(.serialized) struct FullDiskTests {
    static let canMount: Bool = {
        let point = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-mount-probe-\(getpid())")
        try? FileManager.default.createDirectory(at: point, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: point) }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", point.path]) else { return false }
        return run("/bin/umount", [point.path])
    }()

    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test(.enabled(if: FullDiskTests.canMount)) func aFullDiskKeepsThePreviousCheckpoint() throws {
        let scratch = try TemporaryDirectory("headroom-full-disk")
        let root = scratch.url
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "squares", "stripes"]  // 24 images: three steps of 8
        dataset.trainPerClass = 8
        dataset.validationPerClass = 1
        let data = try dataset.write(to: root.appendingPathComponent("data"))
        // Room for one checkpoint (weights and momentum, ~90 MB) but not for a second beside it.
        let disk = root.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        try #require(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=130m", "tmpfs", disk.path]))
        defer { _ = Self.run("/bin/umount", [disk.path]) }

        var config = TrainingConfiguration(trainPath: data.train.path, validationPath: data.validation.path)
        config.epochs = 2
        config.batchSize = 8
        config.imageSize = 64
        config.device = .device(.cpu)
        config.forcedMicroBatch = 8
        config.precision = .fp32
        let run = disk.appendingPathComponent("run")
        do {
            _ = try Trainer(configuration: config, runDirectory: run).run()
            Issue.record("two checkpoints fit in 130 MB")
        } catch let error as CheckpointError {
            #expect("\(error)".contains("previous checkpoint (step 3) is intact"), "\(error)")
        }
        try? Device.cpu.setMemoryBudget(bytes: nil)
        let latest = try #require(try Checkpointer(runDirectory: run).latest())
        #expect(latest.state.epoch == 1 && latest.state.globalStep == 3)
        #expect(try ModelFile.read(latest.directory.appendingPathComponent("model.safetensors")).tensors.count == 122)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)
        #expect(!leftovers.contains { $0.hasSuffix(".partial") })
    }
}
