public import ArgumentParser
public import Headroom

extension ResNet.Architecture: ExpressibleByArgument {}
extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}
extension PrecisionChoice: ExpressibleByArgument {}
extension LearningRateSchedule.Kind: ExpressibleByArgument {}
extension TrainingConfiguration.BadImagePolicy: ExpressibleByArgument {}
extension DistributedBackend: ExpressibleByArgument {}

/// The options `train` and `plan` share, named as a PyTorch user expects.
struct TrainingOptions: ParsableArguments {
    @Argument(help: "A folder holding train/ and val/ (ImageFolder layout), or omit and use --train and --val.")
    var data: String?

    @Option(help: "Training images: an ImageFolder directory or a CSV manifest (path,label).")
    var train: String?

    @Option(help: "Validation images, with the same classes.")
    var val: String?

    @Option(help: "The network.")
    var model: ResNet.Architecture = .resnet18

    @Option(help: """
        Start from these weights: `imagenet` (torchvision's best ImageNet weights for --model, from PyTorch's cache \
        ~/.cache/torch/hub/checkpoints or downloaded into it), a torchvision tag (IMAGENET1K_V1, IMAGENET1K_V2), \
        or a file (safetensors, or a torchvision .pth). The classifier is re-initialised if its classes differ.
        """)
    var weights: String?

    @Flag(help: "Train only the classifier on top of --weights.")
    var freezeBackbone = false

    @Option(help: "Epochs to train (default 10). With --resume: train the run to this many epochs.")
    var epochs: Int?

    @Option(help: "The effective batch: samples per optimiser step, whatever memory allows per pass.")
    var batchSize = 32

    @Option(help: "Training resolution in pixels.")
    var imageSize = 224

    @Option(help: "Progressive resizing, e.g. 256:3,384:3,512 (3 epochs at 256, 3 at 384, then 512).")
    var resizeSchedule: String?

    @Option(help: "Validation resolution (default: the final training resolution).")
    var valImageSize: Int?

    @Option(help: "sgd, adam or adamw.")
    var optimizer: TrainingConfiguration.OptimizerKind = .sgd

    @Option(help: """
        Base learning rate (default: for SGD, torchvision's 0.1 per 256 samples scaled to --batch-size, \
        0.00625 at 16; for Adam and AdamW, 1e-3).
        """)
    var lr: Double?

    @Option(help: "SGD momentum.")
    var momentum = 0.9

    @Flag(help: "Nesterov momentum (SGD).")
    var nesterov = false

    @Option(help: "Weight decay.")
    var weightDecay = 1e-4

    @Option(help: "constant, cosine or onecycle.")
    var lrSchedule: LearningRateSchedule.Kind = .cosine

    @Option(help: "Linear warm-up, in epochs.")
    var warmupEpochs = 0.0

    @Option(help: "Label smoothing of the cross-entropy loss.")
    var labelSmoothing = 0.0

    @Option(help: "RandomResizedCrop's area fractions, MIN or MIN,MAX (default 0.08,1 as torchvision); raise MIN when small crops would cut the object away.")
    var cropScale: String?

    @Option(help: "auto, fp32, bf16, fp16 (with a dynamic loss scale) or fp64 (float64 throughout: slow, for exactness checks).")
    var precision: PrecisionChoice = .auto

    @Flag(inversion: .prefixedNo, help: "Lay out activations and weights channels-last, or not (default: where it is faster: CPUs with AVX-512, CUDA in bf16/fp16).")
    var channelsLast: Bool?

    @Option(
        help: "Memory the run may use: a share of the device (80%) or a size (6GiB, 512MiB). Default 80%.",
        transform: MemoryBudget.init(argument:))
    var memoryBudget: MemoryBudget?

    @Option(help: "Use this micro-batch instead of planning one (out-of-memory recovery still applies).")
    var microBatch: Int?

    @Option(help: ArgumentHelp(
        "Recompute activations in backward instead of keeping them: auto, off, on, or segments (stem,layer1,…,layer4).",
        discussion: "auto: per resolution, only when the largest micro-batch that fits is below --min-micro-batch or one sample does not fit."))
    var activationCheckpointing: ActivationCheckpointing = .auto

    @Option(help: ArgumentHelp(
        "Compute the start of the network in bands of rows, so that memory hardly grows with the image: auto, off, on, or the last stage to stream (stem, layer1, …, layer4).",
        discussion: "auto: only when not one sample fits with every segment checkpointed (needs --activation-checkpointing auto). Exact, BatchNorm included, but each BatchNorm's statistics pass recomputes everything before it: streaming through layer2 costs several times a plain step. plan and the plan line say how much."))
    var streaming: StreamingChoice = .auto

    @Option(help: "The micro-batch below which auto checkpointing is tried first.")
    var minMicroBatch = 8

    @Option(help: "auto, cpu, cuda or cuda:N.", transform: DeviceRequest.init(argument:))
    var device = DeviceRequest.auto

    @Option(help: "Seed of the initialisation, the data order and the augmentations.")
    var seed: UInt64 = 0

    @Option(help: "Decoding threads.")
    var workers = 2

    @Option(help: "skip: replace an undecodable image in its batch and report it; fail: stop the run.")
    var onBadImage: TrainingConfiguration.BadImagePolicy = .skip

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit

    @Option(help: "Intra-op threads for libtorch (default: libtorch's choice).")
    var threads: Int?

    @Flag(name: .customLong("freeze-bn"), help: "BatchNorm in evaluation mode while training: running statistics, never updated.")
    var freezeBatchNorm = false

    @Flag(
        name: .customLong("sync-bn"),
        help: ArgumentHelp(
            "Several processes: BatchNorm normalises with the statistics of every rank's micro-batch (SyncBatchNorm).",
            discussion: "The ranks agree on their micro-batches and memory plan every step; a rank that runs out of memory inside one tells the others through the same collectives, and all repeat the step smaller. No effect in a single process."))
    var syncBatchNorm = false

    @Option(help: "Clip the global gradient norm to this value.")
    var gradClip: Double?

    @Option(help: "Also checkpoint within epochs: every N steps (\"500\") or minutes (\"10m\").")
    var checkpointEvery: String?

    /// Whether the data was given, as a folder or as --train and --val.
    var hasData: Bool { data != nil || (train != nil && val != nil) }

    func validate() throws {
        if let cropScale, TrainingConfiguration.cropScale(parsing: cropScale) == nil {
            throw ValidationError("--crop-scale \(cropScale) is not MIN or MIN,MAX with MIN ≤ MAX (e.g. 0.25 or 0.25,1)")
        }
        if resizeSchedule != nil && ResizeSchedule(parsing: resizeSchedule!) == nil {
            throw ValidationError("--resize-schedule \(resizeSchedule!) is not of the form 256:3,384:3,512")
        }
        if let every = checkpointEvery, CheckpointInterval(every) == nil {
            throw ValidationError("--checkpoint-every \(every) is neither a step count (500) nor minutes (10m)")
        }
        let problems = configuration().problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    /// The options as the library's configuration.
    func configuration() -> TrainingConfiguration {
        var config = TrainingConfiguration(
            trainPath: train ?? "\(data ?? ".")/train", validationPath: val ?? "\(data ?? ".")/val")
        config.architecture = model
        config.weightsPath = weights
        config.freezeBackbone = freezeBackbone
        config.epochs = epochs ?? 10
        config.batchSize = batchSize
        config.imageSize = imageSize
        config.resizeSchedule = resizeSchedule.flatMap(ResizeSchedule.init(parsing:))
        config.validationImageSize = valImageSize
        config.optimizer = optimizer
        config.learningRate = lr
        config.momentum = momentum
        config.nesterov = nesterov
        config.weightDecay = weightDecay
        config.learningRateSchedule = lrSchedule
        config.warmupEpochs = warmupEpochs
        config.labelSmoothing = labelSmoothing
        config.cropScale = cropScale.flatMap(TrainingConfiguration.cropScale(parsing:))
        config.precision = precision
        config.channelsLast = channelsLast
        config.memoryBudget = memoryBudget
        config.forcedMicroBatch = microBatch
        config.activationCheckpointing = activationCheckpointing
        config.streaming = streaming
        config.minimumMicroBatch = minMicroBatch
        config.device = device
        config.seed = seed
        config.workers = workers
        config.onBadImage = onBadImage
        // Kept in the run's configuration only when it differs from the default.
        config.maxImagePixels = maxImagePixels == ImageDecoder.defaultPixelLimit ? nil : maxImagePixels ?? Int.max
        config.threads = threads
        config.gradientClipNorm = gradClip
        config.freezeBatchNorm = freezeBatchNorm ? true : nil
        config.syncBatchNorm = syncBatchNorm ? true : nil
        switch checkpointEvery.flatMap(CheckpointInterval.init) {
        case let .steps(count): config.checkpointEverySteps = count
        case let .minutes(minutes): config.checkpointEveryMinutes = minutes
        case nil: break
        }
        return config
    }
}

let maxImagePixelsHelp = ArgumentHelp(
    "The most pixels an image may have (PIL's limit by default, against decompression bombs), or none.",
    discussion: "A bigger image is a counted bad image (or an error under --on-bad-image fail). 8192 × 8192 is 67 million; a whole slide can be billions.",
    valueName: "count|none")

/// `--max-image-pixels`: a count, or none (nil).
func pixelLimit(argument: String) throws -> Int? {
    guard let limit = ImageDecoder.pixelLimit(parsing: argument) else {
        throw ValidationError("--max-image-pixels must be a whole number of pixels of at least 1, or none (got \(argument))")
    }
    return limit
}

extension MemoryBudget {
    /// `--memory-budget`'s one parser, with what it accepts when it refuses.
    init(argument: String) throws {
        guard let budget = MemoryBudget(parsing: argument) else {
            throw ValidationError("--memory-budget \(argument) is neither a percentage (80%) nor a size (6GiB, 512MiB)")
        }
        self = budget
    }
}

extension DeviceRequest {
    init(argument: String) throws {
        guard let request = DeviceRequest(parsing: argument) else {
            throw ValidationError("--device must be \(DeviceRequest.accepted) (got \(argument))")
        }
        self = request
    }
}

extension ActivationCheckpointing: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

extension StreamingChoice: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
}

/// "500" (steps) or "10m" (minutes).
enum CheckpointInterval {
    case steps(Int)
    case minutes(Double)

    init?(_ text: String) {
        if text.hasSuffix("m"), let minutes = Double(text.dropLast()), minutes > 0 {
            self = .minutes(minutes)
        } else if let steps = Int(text), steps > 0 {
            self = .steps(steps)
        } else {
            return nil
        }
    }
}
