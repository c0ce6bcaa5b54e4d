import ArgumentParser
import Headroom

/// `train` and `plan`'s options, group "Optimisation": the effective batch, resolutions, optimiser,
/// schedule and augmentation.
struct OptimisationOptions: ParsableArguments {
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

    @Option(help: "Clip the global gradient norm to this value.")
    var gradClip: Double?

    @Option(help: "Seed of the initialisation, the data order and the augmentations.")
    var seed: UInt64 = 0
}
