import Foundation
import HeadroomData
import HeadroomModels
import Torch
import TorchNN
import TorchOptim

/// Building a run's pieces from its configuration: short functions with typed arguments.
extension RunSetup {
    /// The training and validation samples, with the same classes on both sides.
    static func scanData(_ configuration: TrainingConfiguration) throws -> (LabeledSamples, LabeledSamples) {
        func scan(_ path: String, role: String) throws -> LabeledSamples {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw TrainingSetupError(problems: ["the \(role) data \(path) does not exist"])
            }
            do {
                return isDirectory.boolValue ? try ImageFolder(root: path).scan() : try CSVManifest(path: path).read()
            } catch {
                throw TrainingSetupError(problems: ["the \(role) data \(path): \(error)"])
            }
        }
        let train = try scan(configuration.trainPath, role: "training")
        let validation = try scan(configuration.validationPath, role: "validation")
        do {
            try LabeledSamples.validateClasses(train: train, validation: validation)
        } catch {
            throw TrainingSetupError(problems: ["\(error)"])
        }
        return (train, validation)
    }

    /// The set's format, from a sample of both sides' headers (training and validation must
    /// agree), the decoder that reads it, and the normalisation `--normalize` resolves to.
    static func readInput(
        _ configuration: TrainingConfiguration, train: LabeledSamples, validation: LabeledSamples
    ) throws -> (decoder: ImageDecoder, normalisation: InputNormalisation) {
        var decoder = configuration.imageDecoder
        do {
            let both = LabeledSamples(classes: train.classes, samples: train.samples + validation.samples)
            decoder.input = try InputFormat.detect(both, decoder: decoder, selection: configuration.bands, slide: configuration.slide)
        } catch {
            throw TrainingSetupError(problems: ["the data: \(error)"])
        }
        let normalisation = try (configuration.normalize ?? .auto).resolve(for: decoder.input) {
            try BandStatistics.measure(train, decoder: decoder)
        }
        return (decoder, normalisation)
    }

    /// The network, initialised from the seed or from weights, on its device, and what the
    /// weights resolved to (torchvision's tag and the file), if any. `inputBands`: the
    /// channels conv1 takes; RGB weights are adapted to them.
    static func buildModel(
        _ configuration: TrainingConfiguration, classCount: Int, inputBands: Int = 3, device: Device,
        observer: @Sendable (TrainerEvent) -> Void
    ) throws -> (model: ResNet, weights: String?) {
        let generator = try Generator(seed: configuration.seed)
        let model = try ResNet(configuration.architecture, classCount: classCount, inputBands: inputBands, generator: generator)
        var resolved: String?
        if let given = configuration.weightsPath {
            let (file, label) = try weightsFile(given, architecture: configuration.architecture, observer: observer)
            resolved = label
            let weights = try ModelFile.read(file).tensors
            do {
                let loaded = try model.loadPretrained(Dictionary(uniqueKeysWithValues: weights.map { ($0.name, $0.tensor) }), generator: generator)
                observer(.started([("weights", "\(label): \(loaded)")]))
            } catch let mismatch as StateDictMismatch {
                throw TrainingSetupError(problems: ["--weights \(given) does not fit \(configuration.architecture.rawValue): \(mismatch.report)"])
            }
            if configuration.freezeBackbone { try model.freezeBackbone() }
        }
        if configuration.freezeBatchNorm == true { model.freezeBatchNorm() }
        try model.move(to: device)
        model.train()
        return (model, resolved)
    }

    /// The file `--weights` names: a path, or torchvision's weights by name, from PyTorch's
    /// cache or downloaded into it.
    static func weightsFile(
        _ given: String, architecture: ResNet.Architecture, observer: @Sendable (TrainerEvent) -> Void
    ) throws -> (file: URL, label: String) {
        if FileManager.default.fileExists(atPath: given) { return (URL(fileURLWithPath: given), given) }
        do {
            guard let weights = try PretrainedWeights.named(given, for: architecture) else {
                throw TrainingSetupError(problems: [
                    "--weights \(given) is neither a file nor a name of torchvision's weights (\(PretrainedWeights.names.joined(separator: ", ")))"
                ])
            }
            // The download is over when `file` returns: the observer does not outlive this call.
            let file = try withoutActuallyEscaping(observer) { observer in
                try WeightsCache.standard().file(for: weights) { bytes, total in
                    observer(.downloading(file: weights.fileName, bytes: bytes, totalBytes: total))
                }
            }
            return (file, "\(weights), \(file.path)")
        } catch let error as PretrainedWeightsError {
            throw TrainingSetupError(problems: ["\(error)"])
        }
    }

    /// Random erasing and MixUp/CutMix as asked, erased pixels filled with the normalisation's
    /// mean (0 once normalised, as torchvision erases); nil when none is asked.
    static func augmentation(
        _ configuration: TrainingConfiguration, normalisation: InputNormalisation, input: InputFormat
    ) throws -> SampleAugmentation? {
        if let policy = configuration.augmentPolicy, input.reading != .photo || ![1, 3].contains(input.bands) {
            throw TrainingSetupError(problems: [
                "--auto-augment \(policy.name) works on 8-bit photos of 1 or 3 bands, as torchvision's does; "
                    + "this set is \(input.bands) band(s) of \(input.reading == .photo ? "8-bit" : "deeper or slide") samples"
            ])
        }
        let augmentation = SampleAugmentation(
            policy: configuration.augmentPolicy,
            erasing: configuration.randomErase.map { RandomErasing(probability: $0) },
            mixing: SampleMixing(mixupAlpha: configuration.mixupAlpha ?? 0, cutmixAlpha: configuration.cutmixAlpha ?? 0),
            fill: normalisation.mean)
        return augmentation.isActive ? augmentation : nil
    }

    static func buildOptimizer(_ configuration: TrainingConfiguration, parameters: [(name: String, tensor: Tensor)], model: ResNet) throws -> any Optimizer {
        let tensors = parameters.map(\.tensor)
        let rate = configuration.resolvedLearningRate
        let decay = configuration.weightDecay
        // `--norm-weight-decay`: the normalisation layers' parameters form a group of their own,
        // found by module type as torchvision's `set_weight_decay` finds them.
        let decays = configuration.normWeightDecay.map { normDecay in
            let norms = model.normalisationParameterNames
            return parameters.map { norms.contains($0.name) ? normDecay : decay }
        }
        switch configuration.optimizer {
        case .sgd:
            return try SGD(
                parameters: tensors, learningRate: rate, momentum: configuration.momentum, weightDecay: decay, weightDecays: decays,
                nesterov: configuration.nesterov)
        case .adam:
            return try Adam(parameters: tensors, learningRate: rate, weightDecay: decay, weightDecays: decays)
        case .adamw:
            return try Adam.adamW(parameters: tensors, learningRate: rate, weightDecay: decay, weightDecays: decays)
        }
    }
}
