import Foundation
public import HeadroomData
public import HeadroomExecution
public import HeadroomMemory
public import HeadroomModels
public import Torch
import TorchNN
import TorchOptim

/// Everything a run is built from, resolved once: the data, the device, the precision, the
/// memory format and the memory budget, and the model, optimiser and training step built on
/// them. `train`, `plan` and the benchmarks' measurements all start here, so what `plan`
/// measures is what training runs.
public struct RunSetup {
    public let configuration: TrainingConfiguration
    public let train: LabeledSamples
    public let validation: LabeledSamples
    public let device: Device
    public let precision: Precision
    public let memoryFormat: MemoryFormat
    /// The budget and headroom in force for this run on this device.
    public let limit: MemoryLimit
    public let step: TrainingStep
    /// The loader's host memory at the largest resolution, from a sample of the training headers.
    public let loaderMemory: LoaderMemory
    /// What `--weights` resolved to, e.g. "torchvision resnet50 IMAGENET1K_V2 (ImageNet top-1
    /// 80.858%), ~/.cache/torch/hub/checkpoints/resnet50-11ad3fa6.pth"; nil without weights.
    public let resolvedWeights: String?
    /// The decoder of every loader of the run, reading the set's format (``InputFormat``):
    /// its bands, their sample type, `--bands`' selection.
    public let decoder: ImageDecoder
    /// How the network's input is normalised, per band (`--normalize`, measured or ImageNet's).
    public let normalisation: InputNormalisation

    /// Random erasing and MixUp/CutMix as the configuration asks (nil: none).
    public let augmentation: SampleAugmentation?

    /// The set's format, as the decoder reads it.
    public var input: InputFormat { decoder.input }

    /// Checks the configuration and the data, then builds the run. `checkData` sees the
    /// scanned samples before anything is built (a resumed run's check that its data did not
    /// change); `localRank` places a data-parallel worker on its GPU.
    public init(
        _ configuration: TrainingConfiguration, localRank: Int? = nil,
        checkData: (LabeledSamples) throws -> Void = { _ in },
        observer: @Sendable (TrainerEvent) -> Void = { _ in }
    ) throws {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw TrainingSetupError(problems: problems) }
        let scanned: LabeledSamples
        (scanned, validation) = try Self.scanData(configuration)
        try checkData(scanned)
        // Before planning: a plan for a batch no step can fill would probe absurd sizes.
        let regions = configuration.slideRegions ?? 1
        guard configuration.batchSize <= scanned.samples.count * regions else {
            throw TrainingSetupError(problems: [
                "--batch-size \(configuration.batchSize) is larger than the \(scanned.samples.count) training samples: "
                    + "no optimiser step could see a whole batch; lower --batch-size"
            ])
        }
        do {
            device = try configuration.device.resolve(localRank: localRank)
        } catch {
            throw TrainingSetupError(problems: ["--device \(configuration.device): \(error)"])
        }
        if let threads = configuration.threads { try Torch.setThreadCount(threads) }
        try Torch.manualSeed(configuration.seed)
        (decoder, normalisation) = try Self.readInput(configuration, train: scanned, validation: validation)
        // `--slide-regions K`: each slide K samples an epoch, each its own random region.
        train = decoder.input.reading == .slide && regions > 1 ? scanned.repeatingEach(regions) : scanned

        let model: ResNet
        (model, resolvedWeights) = try Self.buildModel(
            configuration, classCount: train.classes.count, inputBands: decoder.input.bands, device: device, observer: observer)
        precision = configuration.precision.resolve(on: device)
        memoryFormat = MemoryFormat.resolve(channelsLast: configuration.channelsLast, device: device, precision: precision)
        try model.setMemoryFormat(memoryFormat)
        let optimizer = try Self.buildOptimizer(configuration, parameters: model.namedParameters().filter(\.tensor.requiresGradient), model: model)
        step = try TrainingStep(
            model: model, optimizer: optimizer, device: device, precision: precision, memoryFormat: memoryFormat,
            labelSmoothing: configuration.labelSmoothing, gradientClipNorm: configuration.gradientClipNorm, normalisation: normalisation)
        augmentation = try Self.augmentation(configuration, normalisation: normalisation, input: decoder.input)
        step.inputType = augmentation?.batchType(for: decoder.input) ?? decoder.input.batchType
        do {
            let bytes = try (configuration.memoryBudget ?? .standard).resolve(on: device)
            limit = MemoryLimit(budgetBytes: bytes, headroom: configuration.memoryHeadroom)
        } catch {
            throw TrainingSetupError(problems: ["\(error)"])
        }
        loaderMemory = LoaderMemory.estimate(
            samples: train, batchSize: configuration.batchSize,
            resolution: configuration.trainingResolutions.max() ?? configuration.imageSize, workers: configuration.workers,
            decoder: decoder, batchType: step.inputType)
        self.configuration = configuration
    }

    /// The owner of this run's memory, for a process that trains `effectiveBatch` samples
    /// of every optimiser step; with `synchronizedBatchNorm` its steps never stream (streaming's
    /// statistics passes are one process's), though validation may (it reads running statistics).
    public func memoryController(effectiveBatch: Int, synchronizedBatchNorm: Bool = false) -> MemoryController {
        var settings = MemoryController.Settings()
        settings.checkpointing = configuration.activationCheckpointing
        settings.streaming = synchronizedBatchNorm ? .off : configuration.streaming
        settings.validationStreaming = configuration.streaming
        settings.minimumMicroBatch = configuration.minimumMicroBatch
        settings.forcedMicroBatch = configuration.forcedMicroBatch
        settings.growthPatience = configuration.growthPatience
        settings.pressure = configuration.memoryPressure
        let format = decoder.input
        let type = step.inputType
        settings.prefetchBytesPerSample = { BatchLoader.queuedBytes(count: 1, resolution: $0, format: format, type: type) }
        settings.decodingBytes = loaderMemory.decodingBytes
        return MemoryController(device: device, limit: limit, effectiveBatch: effectiveBatch, settings: settings)
    }
}
