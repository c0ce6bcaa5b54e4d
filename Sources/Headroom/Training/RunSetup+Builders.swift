import Foundation
public import Torch
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

    /// The network, initialised from the seed or from weights, on its device.
    static func buildModel(
        _ configuration: TrainingConfiguration, classCount: Int, device: Device,
        observer: @Sendable (TrainerEvent) -> Void
    ) throws -> ResNet {
        let generator = try Generator(seed: configuration.seed)
        let model = try ResNet(configuration.architecture, classCount: classCount, generator: generator)
        if let path = configuration.weightsPath {
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainingSetupError(problems: ["--weights \(path) does not exist"])
            }
            let weights = try ModelFile.read(URL(fileURLWithPath: path)).tensors
            do {
                let loaded = try model.loadPretrained(Dictionary(uniqueKeysWithValues: weights.map { ($0.name, $0.tensor) }), generator: generator)
                observer(.started([("weights", "\(path): \(loaded)")]))
            } catch let mismatch as StateDictMismatch {
                throw TrainingSetupError(problems: ["--weights \(path) does not fit \(configuration.architecture.rawValue): \(mismatch.report)"])
            }
            if configuration.freezeBackbone { try model.freezeBackbone() }
        }
        if configuration.freezeBatchNorm == true { model.freezeBatchNorm() }
        try model.move(to: device)
        model.train()
        return model
    }

    static func buildOptimizer(_ configuration: TrainingConfiguration, parameters: [Tensor]) throws -> any Optimizer {
        switch configuration.optimizer {
        case .sgd:
            try SGD(
                parameters: parameters, learningRate: configuration.learningRate, momentum: configuration.momentum,
                weightDecay: configuration.weightDecay, nesterov: configuration.nesterov)
        case .adam:
            try Adam(parameters: parameters, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        case .adamw:
            try Adam.adamW(parameters: parameters, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        }
    }
}
