import Foundation
import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomData
@testable import HeadroomExecution
@testable import HeadroomFormats
@testable import HeadroomModels
@testable import HeadroomTraining

/// The recipe's knobs in training: the mixed loss against libtorch's soft-target
/// cross-entropy, the one rule with MixUp, CutMix, erasing and the EMA, the EMA's arithmetic
/// and its resume, and BatchNorm's own weight decay.
@Suite(.serialized) struct RecipeTrainingTests {
    let scratch: TemporaryDirectory
    let data: (train: URL, validation: URL)

    init() throws {
        scratch = try TemporaryDirectory("headroom-recipe")
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "squares", "stripes"]
        dataset.trainPerClass = 8
        dataset.validationPerClass = 2
        dataset.width = 48
        dataset.height = 40
        data = try dataset.write(to: scratch.url.appendingPathComponent("data"))
    }

    /// Every knob on, float64, BatchNorm frozen (so a micro-batch normalises as the batch does).
    func configuration(micro: Int, epochs: Int = 1) -> TrainingConfiguration {
        var config = TrainingConfiguration(trainPath: data.train.path, validationPath: data.validation.path)
        config.epochs = epochs
        config.batchSize = 8
        config.imageSize = 32
        config.learningRate = 0.05
        config.device = .device(.cpu)
        config.workers = 2
        config.forcedMicroBatch = micro
        config.precision = .fp64
        config.channelsLast = false
        config.freezeBatchNorm = true
        config.labelSmoothing = 0.1
        config.mixupAlpha = 0.2
        config.cutmixAlpha = 1
        config.randomErase = 0.5
        config.autoAugment = "ta_wide"
        config.normWeightDecay = 0
        config.modelEMA = EMASettings(decay: 0.9, steps: 1)
        return config
    }

    /// A run's final weights and its last checkpoint's moving average.
    func train(_ config: TrainingConfiguration, in name: String, resume: Bool = false, stopAfterStep: Int? = nil) throws -> (weights: [[Double]], average: [[Double]], interrupted: Bool) {
        let collector = Collector()
        let directory = scratch.url.appendingPathComponent(name)
        let trainer = try Trainer(configuration: config, runDirectory: directory, resume: resume) { collector.add($0) }
        collector.onStep = { [weak trainer] progress in if progress.globalStep == stopAfterStep { trainer?.requestStop() } }
        let summary = try trainer.run()
        let weights = try trainer.step.model.stateDict().map { try $0.tensor.to(dtype: .float64).array(of: Double.self) }
        let saved = try ModelFile.read(
            directory.appendingPathComponent("checkpoints/last").resolvingSymlinksInPath().appendingPathComponent(Checkpointer.averageFile))
        let average = try saved.tensors.map { try $0.tensor.to(dtype: .float64).array(of: Double.self) }
        return (weights, average, summary.interrupted)
    }

    @Test func theMixedLossIsTheCrossEntropyAgainstMixedSoftTargets() throws {
        let generator = try Generator(seed: 3)
        let logits = try Tensor.randn([6, 4], dtype: .float64, generator: generator)
        let labels = try Tensor([0, 1, 2, 3, 1, 0] as [Int64])
        let partners = try Tensor([2, 1, 0, 0, 3, 3] as [Int64])
        let keeps = try Tensor([0.9, 0.5, 0.2, 1.0, 0.0, 0.65])
        for smoothing in [0.0, 0.1] {
            let mixed = try TrainingStep.loss(logits, targets: labels, mixing: (partners, keeps), labelSmoothing: smoothing, device: .cpu)
            // libtorch's probability-target path, on torchvision's mixed one-hot targets.
            var targets = [Double](repeating: 0, count: 24)
            let (own, other, kept) = (try labels.array(of: Int64.self), try partners.array(of: Int64.self), try keeps.array(of: Double.self))
            for row in 0..<6 {
                targets[row * 4 + Int(own[row])] += kept[row]
                targets[row * 4 + Int(other[row])] += 1 - kept[row]
            }
            let reference = try logits.crossEntropy(targets: Tensor(targets, shape: [6, 4]), labelSmoothing: smoothing)
            expectClose(mixed, try reference.array(of: Double.self), within: .exactInFloat64)
        }
    }

    @Test func aStepSeesTheSameMixedSamplesWhateverTheMicroBatch() throws {
        let whole = try train(configuration(micro: 8), in: "whole")
        let thirds = try train(configuration(micro: 3), in: "thirds")
        expectClose(thirds.weights, whole.weights, within: .exactInFloat64)
        // Updated once per optimiser step (decay 0.9 every step): per micro-batch it would differ.
        expectClose(thirds.average, whole.average, within: .exactInFloat64)
        #expect(whole.average != whole.weights, "the average lags the weights")
    }

    @Test func aResumedRunContinuesTheSameAverage() throws {
        let straight = try train(configuration(micro: 8, epochs: 2), in: "straight")
        let first = try train(configuration(micro: 8, epochs: 2), in: "stopped", stopAfterStep: 2)
        #expect(first.interrupted)
        let rest = try train(configuration(micro: 8, epochs: 2), in: "stopped", resume: true)
        expectClose(rest.weights, straight.weights, within: .exactInFloat64)
        expectClose(rest.average, straight.average, within: .exactInFloat64)
    }

    @Test func theAverageCopiesThenDecays() throws {
        let source = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 1))
        try source.move(dtype: .float64)
        let average = try ModelAverage(of: source, settings: EMASettings(decay: 0.75, steps: 4), batchSize: 1, epochs: 1, memoryFormat: .contiguous)
        #expect(average.decay == 1 - 0.25 * 4)  // α·batch·steps/epochs, capped at 1
        let settings = EMASettings(decay: 0.99, steps: 2)
        let model = try ModelAverage(of: source, settings: settings, batchSize: 8, epochs: 4, memoryFormat: .contiguous)
        #expect(abs(model.decay - (1 - 0.01 * 8 * 2 / 4)) < 1e-15)
        // torchvision's own numbers: 0.99998 at 1024 samples a step, every 32 steps, 600 epochs.
        #expect(abs(EMASettings().effectiveDecay(batchSize: 1024, epochs: 600) - (1 - 2e-5 * 1024 * 32 / 600)) < 1e-12)
        #expect(model.isDue(atStepInEpoch: 0) && !model.isDue(atStepInEpoch: 1) && model.isDue(atStepInEpoch: 4))

        // A few tensors of each kind (11 million values each time would be slow, not stricter).
        let checked: Set = ["bn1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer4.1.bn2.bias", "fc.weight", "fc.bias"]
        func values(_ network: ResNet) throws -> [[Double]] {
            try network.stateDict().filter { checked.contains($0.name) }.map { try $0.tensor.to(dtype: .float64).array(of: Double.self) }
        }
        try withoutGradient { () throws(TorchError) in for p in source.namedParameters() { try p.tensor *= 0.5 } }
        try model.update(from: source)  // the first update copies
        let a = try values(source)
        expectClose(try values(model.model), a, within: .exactInFloat64)
        try withoutGradient { () throws(TorchError) in for p in source.namedParameters() { try p.tensor += 1 } }
        let b = try values(source)
        try model.update(from: source)
        let names = source.stateDict().map(\.name).filter(checked.contains)
        let expected = zip(names, zip(a, b)).map { name, pair in
            // BatchNorm's batch count is an integer: copied, not averaged.
            name.hasSuffix("num_batches_tracked") ? pair.1 : zip(pair.0, pair.1).map { model.decay * $0 + (1 - model.decay) * $1 }
        }
        expectClose(try values(model.model), expected, within: .exactInFloat64)
        model.restart()
        try model.update(from: source)
        expectClose(try values(model.model), b, within: .exactInFloat64)
    }

    @Test func normWeightDecayIsAGroupOfTheBatchNormParameters() throws {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 1))
        let norms = model.normalisationParameterNames
        // torchvision's resnet18: bn1, two per basic block (8), three downsample BatchNorms; weight and bias each.
        #expect(norms.count == 2 * (1 + 2 * 8 + 3))
        #expect(norms.allSatisfy { $0.contains(".bn") || $0.hasPrefix("bn1.") || $0.contains("downsample.1.") })
        #expect(!norms.contains("fc.weight") && !norms.contains("conv1.weight"))

        // One optimiser with a decay per parameter equals one optimiser per group.
        let generator = try Generator(seed: 4)
        let weights = try (0..<4).map { _ in try Tensor.randn([5], dtype: .float64, generator: generator) }
        let gradients = try (0..<4).map { _ in try Tensor.randn([5], dtype: .float64, generator: generator) }
        for adam in [false, true] {
            let together = try weights.map { try $0.clone() }
            let apart = try weights.map { try $0.clone() }
            let decays = [0.1, 0.0, 0.1, 0.0]
            func make(_ parameters: [Tensor], _ decay: Double, _ perParameter: [Double]?) throws -> any Optimizer {
                adam ? try Adam.adamW(parameters: parameters, learningRate: 0.1, weightDecay: decay, weightDecays: perParameter)
                    : try SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9, weightDecay: decay, weightDecays: perParameter)
            }
            let grouped = try make(together, 0.1, decays)
            let decayed = try make([apart[0], apart[2]], 0.1, nil)
            let exempt = try make([apart[1], apart[3]], 0.0, nil)
            for _ in 0..<3 {
                for (tensors, optimizers) in [(together, [grouped]), (apart, [decayed, exempt])] {
                    for (tensor, gradient) in zip(tensors, gradients) { try tensor.setGrad(gradient.clone()) }
                    for optimizer in optimizers { try optimizer.step() }
                }
            }
            for (a, b) in zip(together, apart) { expectClose(a, b, within: .exactInFloat64) }
            #expect(try together[0].array(of: Double.self) != together[1].array(of: Double.self))
        }
    }

    @Test func theValidationResizeSizeIsKeptExactly() {
        for crop in [16, 32, 224, 288, 1000] {
            for resize in crop...(crop * 2) {
                var config = TrainingConfiguration(trainPath: "t", validationPath: "v")
                config.imageSize = crop
                config.validationResizeSize = resize
                #expect(SampleTransform.resizeSize(resolution: crop, cropFraction: config.validationCropFraction) == resize)
            }
        }
        // Without it, torchvision's int(crop / 0.875).
        #expect(SampleTransform.resizeSize(resolution: 224, cropFraction: 0.875) == 256)
        #expect(SampleTransform.resizeSize(resolution: 100, cropFraction: 0.875) == 114)
    }

    @Test func absurdRecipeOptionsAreRefused() {
        var config = TrainingConfiguration(trainPath: "t", validationPath: "v")
        config.mixupAlpha = -1
        config.cutmixAlpha = .nan
        config.randomErase = 1.5
        config.modelEMA = EMASettings(decay: 1, steps: 0)
        config.normWeightDecay = -0.1
        config.validationResizeSize = 100
        config.autoAugment = "augmix2"
        config.randAugmentMagnitude = 31
        config.augMixSeverity = 11
        let problems = config.problems().joined(separator: "\n")
        for flag in ["--mixup-alpha", "--cutmix-alpha", "--random-erase", "--model-ema-decay", "--model-ema-steps", "--norm-weight-decay", "--val-resize-size", "--auto-augment", "--ra-magnitude", "--augmix-severity"] {
            #expect(problems.contains(flag), "\(flag) not refused")
        }
    }
}
