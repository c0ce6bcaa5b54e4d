import Foundation
public import Torch
import TorchNN
import TorchOptim

/// Building a run's pieces from its configuration: short functions with typed arguments.
extension Trainer {
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

    /// "auto" is the first GPU when there is one, else the CPU; anything else must exist.
    /// A data-parallel worker takes the GPU of its LOCAL_RANK for "auto" and "cuda".
    static func resolveDevice(_ text: String, localRank: Int? = nil) throws -> Device {
        if let localRank, text == "auto" || text == "cuda" {
            if Device.isCUDAAvailable { return try resolveDevice("cuda:\(localRank)") }
            if text == "auto" { return .cpu }
        }
        guard text != "auto" else { return Device.best }
        guard let device = Device(parsing: text) else {
            throw TrainingSetupError(problems: ["--device must be auto, cpu, cuda or cuda:N (got \(text))"])
        }
        do {
            try device.validate()
        } catch {
            throw TrainingSetupError(problems: ["\(error)"])
        }
        return device
    }

    /// The memory format a run trains in: the one asked for, else the device's faster one.
    public static func resolveMemoryFormat(_ channelsLast: Bool?, device: Device, precision: Precision) -> MemoryFormat {
        switch channelsLast {
        case true?: .channelsLast
        case false?: .contiguous
        case nil: MemoryFormat.automatic(for: device, precision: precision)
        }
    }

    public static func resolvePrecision(_ choice: TrainingConfiguration.PrecisionChoice, device: Device) -> Precision {
        switch choice {
        case .auto: Precision.automatic(for: device)
        case .fp32: .fp32
        case .bf16: .bf16
        case .fp16: .fp16
        case .fp64: .fp64
        }
    }

    /// The budget in bytes: --memory-budget (80% when not given) on `device`. A size beyond
    /// what the device has cannot keep the run out of the kernel's OOM killer: refused.
    static func resolveBudget(_ configuration: TrainingConfiguration, device: Device) throws -> Int {
        let budget = configuration.memoryBudget.flatMap(MemoryBudget.init(parsing:)) ?? .standard
        let host = device.isCUDA ? nil : try HostMemory.read()
        let capacity = try host?.capacity ?? MemoryBudget.capacity(of: device)
        let bytes = budget.resolve(capacity: capacity)
        guard bytes <= capacity else {
            let what = host.map { "this process can take (\($0.binding))" } ?? "this GPU has"
            throw TrainingSetupError(problems: [
                "--memory-budget \(budget) is more than the \(formatBytes(capacity)) \(what): give a percentage (80%) or a smaller size"
            ])
        }
        return bytes
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
