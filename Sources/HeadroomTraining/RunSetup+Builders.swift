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

    /// The network, initialised from the seed or from weights, on its device, and what the
    /// weights resolved to (torchvision's tag and the file), if any.
    static func buildModel(
        _ configuration: TrainingConfiguration, classCount: Int, device: Device,
        observer: @Sendable (TrainerEvent) -> Void
    ) throws -> (model: ResNet, weights: String?) {
        let generator = try Generator(seed: configuration.seed)
        let model = try ResNet(configuration.architecture, classCount: classCount, generator: generator)
        var resolved: String?
        if let given = configuration.weightsPath {
            let (file, label) = try weightsFile(given, architecture: configuration.architecture, observer: observer)
            resolved = label
            let weights = try ModelFile.read(file).tensors
            do {
                let loaded = try model.loadPretrained(Dictionary(uniqueKeysWithValues: weights.map { ($0.name, $0.tensor) }), generator: generator)
                observer(.started([
                    ("weights", "\(label): \(loaded)"),
                    // Headroom always normalises so; said because it is what these weights expect.
                    ("normalisation", "ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), as the weights were trained"),
                ]))
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

    static func buildOptimizer(_ configuration: TrainingConfiguration, parameters: [Tensor]) throws -> any Optimizer {
        switch configuration.optimizer {
        case .sgd:
            try SGD(
                parameters: parameters, learningRate: configuration.resolvedLearningRate, momentum: configuration.momentum,
                weightDecay: configuration.weightDecay, nesterov: configuration.nesterov)
        case .adam:
            try Adam(parameters: parameters, learningRate: configuration.resolvedLearningRate, weightDecay: configuration.weightDecay)
        case .adamw:
            try Adam.adamW(parameters: parameters, learningRate: configuration.resolvedLearningRate, weightDecay: configuration.weightDecay)
        }
    }
}
