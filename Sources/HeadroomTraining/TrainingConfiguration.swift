public import HeadroomData
public import HeadroomExecution
public import HeadroomMemory
public import HeadroomModels
import Torch

/// Every knob of a training run, with its default. Printed at start, saved as
/// `config.json` and in every checkpoint, so a run can be read back and resumed.
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    // Data
    /// Training images: an ImageFolder directory (root/<class>/…) or a CSV manifest.
    public var trainPath: String
    /// Validation images, with the same classes as training.
    public var validationPath: String
    /// Decoding threads for the loader.
    public var workers = 2
    /// What an image that cannot be decoded does: replaced and reported, or the run stops.
    public var onBadImage: BadImagePolicy = .skip

    public enum BadImagePolicy: String, Sendable, Codable, CaseIterable { case skip, fail }
    /// RandomResizedCrop's range of area fractions (timm's `--scale`); nil: torchvision's
    /// 0.08…1. Objects that a small crop would cut away train better with a larger minimum.
    public var cropScale: ClosedRange<Double>?

    /// "MIN" or "MIN,MAX" as --crop-scale takes it (MAX defaults to 1).
    public static func cropScale(parsing text: String) -> ClosedRange<Double>? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), let low = parts[0], let high = parts.count == 2 ? parts[1] : 1.0, low <= high else {
            return nil
        }
        return low...high
    }

    // Model
    public var architecture: ResNet.Architecture = .resnet18
    /// Start from these weights (safetensors or torchvision .pth); nil trains from scratch.
    public var weightsPath: String?
    /// Train only the classifier on top of `weightsPath`.
    public var freezeBackbone = false
    /// BatchNorm in evaluation mode while training (running statistics, no updates).
    /// Optional so that configurations saved before it existed still decode (nil: false).
    public var freezeBatchNorm: Bool?
    /// Data-parallel: BatchNorm normalises with the statistics of every rank's micro-batch
    /// (PyTorch's SyncBatchNorm). Optional so that older configurations decode (nil: false).
    public var syncBatchNorm: Bool?
    /// The most pixels an image's header may declare (`--max-image-pixels`): nil for PIL's
    /// 178,956,970, `Int.max` for none. Raise it for whole slides and satellite scenes.
    public var maxImagePixels: Int?

    /// The bands to train on, 0-based and in order (`--bands 4,3,2` is 1-based, as GDAL
    /// numbers bands); nil: every band the images have.
    public var bands: [Int]?
    /// How the input is normalised (`--normalize`); nil: auto.
    public var normalize: NormalisationChoice?
    /// How whole slides are read (`--slide-level`, `--slide-mpp`, `--no-tissue-mask`,
    /// `--slide-eval`); nil when none was given (a set of slides is then read at level 0).
    public var slide: SlideReading?
    /// `--slide-regions K`: training regions of each slide per epoch (nil: 1).
    public var slideRegions: Int?

    /// The largest side a network input may have: a 32768² region of a slide streams through
    /// the network in a few GiB; anything larger is more likely a typo than a plan.
    public static let largestImageSize = 32768

    /// The decoder every loader of the run uses, before the set's format is known
    /// (``RunSetup/decoder`` reads it).
    public var imageDecoder: ImageDecoder {
        ImageDecoder(pixelLimit: maxImagePixels.map { $0 == Int.max ? nil : $0 } ?? ImageDecoder.defaultPixelLimit)
    }

    // Schedule
    public var epochs = 10
    /// The effective batch: the samples every optimiser step sees, whatever the memory.
    public var batchSize = 32
    /// Training resolution (the last one when progressively resizing).
    public var imageSize = 224
    /// Progressive resizing, e.g. "128:2,192:2,224": 2 epochs at 128, 2 at 192, then 224.
    public var resizeSchedule: ResizeSchedule?
    /// Validation resolution (torchvision's eval transform: resize to size/0.875, centre-crop).
    public var validationImageSize: Int?
    /// `--val-resize-size`: the shorter side validation images are resized to before the
    /// centre crop (torchvision's reference recipe: 232 for a 224 crop); nil: crop / 0.875.
    public var validationResizeSize: Int?

    // Optimisation
    public var optimizer: OptimizerKind = .sgd
    /// The base learning rate; nil follows the batch (``resolvedLearningRate``).
    public var learningRate: Double?
    public var momentum = 0.9
    public var nesterov = false
    public var weightDecay = 1e-4
    public var learningRateSchedule: LearningRateSchedule.Kind = .cosine
    public var warmupEpochs = 0.0
    public var labelSmoothing = 0.0
    /// Clip the global gradient norm (none when nil).
    public var gradientClipNorm: Double?
    /// `--norm-weight-decay`: the weight decay of the BatchNorm weights and biases (nil: --weight-decay).
    public var normWeightDecay: Double?

    // The reference recipe's augmentations (torchvision's train.py names). Optional so that
    // configurations saved before them still decode.
    /// `--mixup-alpha` / `--cutmix-alpha`: Beta(α, α) for MixUp and CutMix (nil or 0: off).
    public var mixupAlpha: Double?
    public var cutmixAlpha: Double?
    /// `--auto-augment`: `ta_wide` (TrivialAugmentWide) or `ra` (RandAugment at
    /// `--ra-magnitude`, default 9), after the crop and flip of photos.
    public var autoAugment: String?
    public var randAugmentMagnitude: Int?
    /// `--augmix-severity` (default 3).
    public var augMixSeverity: Int?
    /// The policy `--auto-augment` names (nil: none, or a name it does not know).
    public var augmentPolicy: AugmentPolicy? {
        autoAugment.flatMap {
            AugmentPolicy(
                name: $0, randAugmentMagnitude: randAugmentMagnitude ?? AugmentPolicy.standardRandAugmentMagnitude,
                augMixSeverity: augMixSeverity ?? AugmentPolicy.standardAugMixSeverity)
        }
    }
    /// `--random-erase`: the probability of erasing a rectangle of a training sample.
    public var randomErase: Double?
    /// `--model-ema`: keep an exponential moving average of the weights, updated every
    /// `modelEMASteps` optimiser steps, evaluated beside the model and saved with it.
    public var modelEMA: EMASettings?

    // Hardware
    /// "auto", "cpu", "cuda" or "cuda:N".
    public var device = DeviceRequest.auto
    public var precision: PrecisionChoice = .auto
    /// Channels-last activations and weights; nil chooses per device (``MemoryFormat/automatic(for:precision:cpuFlags:)``).
    public var channelsLast: Bool?
    /// 80% or 6 GiB; nil: 80% of the device (of what this process may take at start on CPU).
    public var memoryBudget: MemoryBudget?
    /// Fraction of the budget the planner leaves free.
    public var memoryHeadroom = 0.1
    /// Intra-op threads; nil keeps libtorch's default.
    public var threads: Int?
    /// Recompute activations in backward instead of keeping them: per resolution by the
    /// planner (`auto`), never, or for fixed segments.
    public var activationCheckpointing: ActivationCheckpointing = .auto
    /// Compute the start of the network in bands of rows (the ladder's top rung): when
    /// nothing else fits (`auto`, with `auto` checkpointing), always, or never.
    public var streaming: StreamingChoice = .auto
    /// The micro-batch below which `auto` checkpointing is tried first.
    public var minimumMicroBatch = 8

    // Run
    public var seed: UInt64 = 0
    /// Also checkpoint every N optimiser steps within an epoch (nil: at epoch ends only).
    public var checkpointEverySteps: Int?
    /// Also checkpoint every N minutes within an epoch.
    public var checkpointEveryMinutes: Double?
    /// Force the micro-batch instead of planning it (tests, debugging); OOM recovery still applies.
    public var forcedMicroBatch: Int?
    /// Clean steps below the planned micro-batch before trying to grow back.
    public var growthPatience = 200
    /// Simulated memory pressure (demo, tests): another tenant takes `bytes` of the budget
    /// from optimiser step `fromStep` until `untilStep` (exclusive; nil: to the end).
    public var memoryPressure: MemoryPressure?

    public init(trainPath: String, validationPath: String) {
        self.trainPath = trainPath
        self.validationPath = validationPath
    }

    public enum OptimizerKind: String, Sendable, Codable, CaseIterable { case sgd, adam, adamw }


    /// The learning rate a run uses. Unless given: SGD follows torchvision's reference
    /// recipe, 0.1 for a batch of 256, scaled linearly with the effective batch (Goyal et al.,
    /// 2017), so a batch of 16 trains at 0.00625 where a fixed 0.1 diverged; Adam and AdamW
    /// take PyTorch's 1e-3, their steps being normalised per parameter already.
    public var resolvedLearningRate: Double {
        if let learningRate { return learningRate }
        switch optimizer {
        case .sgd: return 0.1 * Double(batchSize) / 256
        case .adam, .adamw: return 1e-3
        }
    }

    /// The training resolution of each epoch.
    public func resolution(forEpoch epoch: Int) -> Int {
        resizeSchedule?.resolution(forEpoch: epoch) ?? imageSize
    }

    /// The share of the resized validation image its centre crop keeps: crop / `--val-resize-size`,
    /// or torchvision's 0.875 (224 of 256).
    public var validationCropFraction: Double {
        validationResizeSize.map { Double(resolvedValidationImageSize) / Double($0) } ?? 0.875
    }

    /// Every resolution the run trains at.
    public var trainingResolutions: [Int] {
        Array(Set((0..<epochs).map(resolution(forEpoch:)))).sorted()
    }

    /// The validation resolution: the one given, else the final training one.
    public var resolvedValidationImageSize: Int {
        ResizeSchedule.validationResolution(given: validationImageSize, imageSize: imageSize, epochs: epochs, schedule: resizeSchedule)
    }

    /// Problems that make the configuration unusable, each said so that a person can fix it.
    /// Ranges are checked as "inside", so that NaN, which compares false, is outside.
    public func problems() -> [String] {
        var problems: [String] = []
        if epochs < 1 { problems.append("--epochs must be at least 1 (got \(epochs))") }
        if batchSize < 1 { problems.append("--batch-size must be at least 1 (got \(batchSize))") }
        let sizes = "between 16 and \(Self.largestImageSize) px"
        if imageSize < 16 || imageSize > Self.largestImageSize { problems.append("--image-size must be \(sizes) (got \(imageSize))") }
        if let size = validationImageSize, size < 16 || size > Self.largestImageSize {
            problems.append("--val-image-size must be \(sizes) (got \(size))")
        }
        if let rate = learningRate, !(rate > 0) || !rate.isFinite { problems.append("--lr must be a positive number (got \(rate))") }
        if !(momentum >= 0 && momentum < 1) { problems.append("--momentum must be in [0, 1) (got \(momentum))") }
        if nesterov && momentum == 0 { problems.append("--nesterov needs --momentum > 0") }
        if !(weightDecay >= 0 && weightDecay.isFinite) { problems.append("--weight-decay must be a number ≥ 0 (got \(weightDecay))") }
        if !(labelSmoothing >= 0 && labelSmoothing < 1) { problems.append("--label-smoothing must be in [0, 1) (got \(labelSmoothing))") }
        if !(warmupEpochs >= 0 && warmupEpochs <= Double(epochs)) { problems.append("--warmup-epochs must be between 0 and --epochs (got \(warmupEpochs))") }
        if let decay = normWeightDecay, !(decay >= 0 && decay.isFinite) { problems.append("--norm-weight-decay must be a number ≥ 0 (got \(decay))") }
        for (flag, alpha) in [("--mixup-alpha", mixupAlpha), ("--cutmix-alpha", cutmixAlpha)] {
            if let alpha, !(alpha >= 0 && alpha <= 100) { problems.append("\(flag) must be between 0 and 100 (got \(alpha); torchvision's recipe uses 0.2 and 1.0)") }
        }
        if let name = autoAugment, augmentPolicy == nil {
            problems.append(
                "--auto-augment \(name) is none of torchvision's: ta_wide (TrivialAugmentWide), ra (RandAugment), "
                    + "imagenet, cifar10 or svhn (AutoAugment's policies), augmix")
        }
        if let magnitude = randAugmentMagnitude, !(0..<31).contains(magnitude) {
            problems.append("--ra-magnitude must be a bin from 0 to 30, as torchvision's 31 (got \(magnitude))")
        }
        if let severity = augMixSeverity, !(1...10).contains(severity) {
            problems.append("--augmix-severity must be between 1 and 10, as torchvision's (got \(severity))")
        }
        if let erase = randomErase, !(erase >= 0 && erase <= 1) { problems.append("--random-erase is a probability, in [0, 1] (got \(erase))") }
        if let ema = modelEMA { problems += ema.problems() }
        if let resize = validationResizeSize, resize < resolvedValidationImageSize || resize > Self.largestImageSize * 2 {
            problems.append("--val-resize-size must be at least the crop, \(resolvedValidationImageSize) px (got \(resize))")
        }
        if let clip = gradientClipNorm, !(clip > 0 && clip.isFinite) { problems.append("--grad-clip must be positive (got \(clip))") }
        if let scale = cropScale, !(scale.lowerBound > 0 && scale.upperBound <= 1) {
            problems.append("--crop-scale must lie in (0, 1] (got \(scale.lowerBound),\(scale.upperBound))")
        }
        if workers < 0 || workers > 256 { problems.append("--workers must be between 0 and 256 (got \(workers))") }
        if let regions = slideRegions, regions < 1 || regions > 100_000 {
            problems.append("--slide-regions must be between 1 and 100000 (got \(regions))")
        }
        if let limit = maxImagePixels, limit < 1 { problems.append("--max-image-pixels must be at least 1 (got \(limit))") }
        if let threads, threads < 1 { problems.append("--threads must be at least 1 (got \(threads))") }
        if !(memoryHeadroom >= 0 && memoryHeadroom < 0.9) { problems.append("the memory headroom must be in [0, 0.9) (got \(memoryHeadroom))") }
        if let every = checkpointEverySteps, every < 1 { problems.append("--checkpoint-every must be at least 1 step") }
        if let minutes = checkpointEveryMinutes, !(minutes > 0) { problems.append("--checkpoint-every must be a positive number of minutes") }
        if let forced = forcedMicroBatch, forced < 1 { problems.append("the forced micro-batch must be at least 1") }
        // A training BatchNorm must see more than one value per channel (layer4's map is 1×1 up to 32 px).
        for size in trainingResolutions where freezeBatchNorm != true {
            let floor = ResNet.smallestTrainingBatch(resolution: size)
            guard let smallest = [batchSize, forcedMicroBatch ?? batchSize].min(), smallest >= 1, smallest < floor else { continue }
            let option = (forcedMicroBatch ?? batchSize) < batchSize ? "--micro-batch" : "--batch-size"
            problems.append(
                "\(option) \(smallest) at \(size) px gives layer4's BatchNorm one value per channel (its map is 1×1), whose "
                    + "variance is undefined: use \(option) \(floor) or more, --image-size 33 or more, or --freeze-bn")
            break
        }
        if minimumMicroBatch < 1 { problems.append("--min-micro-batch must be at least 1 (got \(minimumMicroBatch))") }
        if growthPatience < 1 { problems.append("the growth patience must be at least 1 step") }
        if let schedule = resizeSchedule {
            for size in schedule.sizes where size < 16 || size > Self.largestImageSize {
                problems.append("--resize-schedule size \(size) must be \(sizes)")
            }
        }
        if freezeBackbone && weightsPath == nil { problems.append("--freeze-backbone needs --weights to start from") }
        if syncBatchNorm == true && freezeBatchNorm == true {
            problems.append("--sync-bn and --freeze-bn contradict each other: a frozen BatchNorm has no batch statistics to synchronise")
        }
        if syncBatchNorm == true && streaming.forcesStreaming {
            problems.append("--sync-bn cannot stream (--streaming \(streaming)): streaming's statistics passes are this process's alone; use --streaming auto or off")
        }
        return problems
    }
}
