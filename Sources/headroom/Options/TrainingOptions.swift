public import ArgumentParser
public import Headroom

extension ResNet.Architecture: ExpressibleByArgument {}
extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}
extension PrecisionChoice: ExpressibleByArgument {}
extension LearningRateSchedule.Kind: ExpressibleByArgument {}
extension TrainingConfiguration.BadImagePolicy: ExpressibleByArgument {}
extension DistributedBackend: ExpressibleByArgument {}
extension SlideReading.Evaluation: ExpressibleByArgument {}

/// The options `train` and `plan` share, named as a PyTorch user expects, in the groups
/// `--help` shows (as timm's train.py groups its own).
struct TrainingOptions: ParsableArguments {
    @OptionGroup(title: "Data") var input: DataOptions
    @OptionGroup(title: "Model and BatchNorm") var network: ModelOptions
    @OptionGroup(title: "Optimisation") var optimisation: OptimisationOptions
    @OptionGroup(title: "Recipe (torchvision's train.py names)") var recipe: RecipeOptions
    @OptionGroup(title: "Memory, precision and device") var memory: MemoryOptions

    @Option(help: "Also checkpoint within epochs: every N steps (\"500\") or minutes (\"10m\").")
    var checkpointEvery: String?  // with --out and --resume under train's "Options"

    /// Read and replaced by its options before parsing (ConfigFile.expand): declared for --help.
    @Option(help: "Options from a YAML or JSON file of `option: value` lines (timm's args.yaml; every run writes its own args.yaml); the command line overrides it.")
    var config: String?

    /// Whether the data was given, as a folder or as --train and --val.
    var hasData: Bool { input.data != nil || (input.train != nil && input.val != nil) }

    func validate() throws {
        if let cropScale = optimisation.cropScale, TrainingConfiguration.cropScale(parsing: cropScale) == nil {
            throw ValidationError("--crop-scale \(cropScale) is not MIN or MIN,MAX with MIN ≤ MAX (e.g. 0.25 or 0.25,1)")
        }
        if optimisation.resizeSchedule != nil && ResizeSchedule(parsing: optimisation.resizeSchedule!) == nil {
            throw ValidationError("--resize-schedule \(optimisation.resizeSchedule!) is not of the form 256:3,384:3,512")
        }
        if let bands = input.bands, InputFormat.selection(parsing: bands) == nil {
            throw ValidationError("--bands \(bands) is not a list of band numbers from 1, e.g. 4,3,2")
        }
        if let normalize = input.normalize, NormalisationChoice(parsing: normalize) == nil {
            throw ValidationError("--normalize \(normalize) is none of auto, imagenet, data, or MEAN,…/STD,… with as many positive STDs as MEANs")
        }
        try input.validateSlideOptions()
        if let every = checkpointEvery, CheckpointInterval(every) == nil {
            throw ValidationError("--checkpoint-every \(every) is neither a step count (500) nor minutes (10m)")
        }
        let problems = configuration().problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    /// The options as the library's configuration.
    func configuration() -> TrainingConfiguration {
        var config = TrainingConfiguration(
            trainPath: input.train ?? "\(input.data ?? ".")/train", validationPath: input.val ?? "\(input.data ?? ".")/val")
        config.architecture = network.model
        config.weightsPath = network.weights
        config.freezeBackbone = network.freezeBackbone
        config.epochs = optimisation.epochs ?? 10
        config.batchSize = optimisation.batchSize
        config.imageSize = optimisation.imageSize
        config.resizeSchedule = optimisation.resizeSchedule.flatMap(ResizeSchedule.init(parsing:))
        config.validationImageSize = optimisation.valImageSize
        config.optimizer = optimisation.optimizer
        config.learningRate = optimisation.lr
        config.momentum = optimisation.momentum
        config.nesterov = optimisation.nesterov
        config.weightDecay = optimisation.weightDecay
        config.learningRateSchedule = optimisation.lrSchedule
        config.warmupEpochs = optimisation.warmupEpochs
        config.labelSmoothing = optimisation.labelSmoothing
        config.cropScale = optimisation.cropScale.flatMap(TrainingConfiguration.cropScale(parsing:))
        config.precision = memory.precision
        config.channelsLast = memory.channelsLast
        config.memoryBudget = memory.memoryBudget
        config.forcedMicroBatch = memory.microBatch
        config.activationCheckpointing = memory.activationCheckpointing
        config.streaming = memory.streaming
        config.minimumMicroBatch = memory.minMicroBatch
        config.device = memory.device
        config.seed = optimisation.seed
        config.workers = input.workers
        config.onBadImage = input.onBadImage
        config.bands = input.bands.flatMap(InputFormat.selection(parsing:))
        config.normalize = input.normalize.flatMap(NormalisationChoice.init(parsing:)).flatMap { $0 == .auto ? nil : $0 }
        config.slide = input.slideReading
        config.slideRegions = input.slideRegions
        // Kept in the run's configuration only when it differs from the default.
        config.maxImagePixels = input.maxImagePixels == ImageDecoder.defaultPixelLimit ? nil : input.maxImagePixels ?? Int.max
        config.threads = memory.threads
        config.gradientClipNorm = optimisation.gradClip
        config.freezeBatchNorm = network.freezeBatchNorm ? true : nil
        config.syncBatchNorm = network.syncBatchNorm ? true : nil
        recipe.apply(to: &config)
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
