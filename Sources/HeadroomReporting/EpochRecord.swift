public import HeadroomModels
/// The end of one epoch: training averages and validation results (`"type": "epoch"`).
public struct EpochRecord: Sendable, Equatable, Codable {
    public var time: Double
    /// Zero-based.
    public var epoch: Int
    public var step: Int
    public var samples: Int
    @Measured public var trainLoss: Double
    /// A fraction, 0...1, as are the other accuracies.
    public var trainTop1: Double
    @Measured public var validationLoss: Double
    public var validationTop1: Double
    /// Absent when there are fewer than five classes.
    public var validationTop5: Double?
    /// How validation ran in bands once an image did not fit whole; absent when every image did.
    public var validationStreaming: ResNet.Streaming?
    public var epochSeconds: Double
    /// `--model-ema`: the average's validation loss and top-1; absent without one.
    public var averageValidationLoss: Double?
    public var averageValidationTop1: Double?
    public var resolution: Int
    public var learningRate: Double

    public init(
        time: Double, epoch: Int, step: Int, samples: Int, trainLoss: Double, trainTop1: Double, validationLoss: Double,
        validationTop1: Double, validationTop5: Double?, validationStreaming: ResNet.Streaming? = nil, epochSeconds: Double,
        averageValidationLoss: Double? = nil, averageValidationTop1: Double? = nil, resolution: Int, learningRate: Double
    ) {
        self.averageValidationLoss = averageValidationLoss
        self.averageValidationTop1 = averageValidationTop1
        self.time = time
        self.epoch = epoch
        self.step = step
        self.samples = samples
        self.trainLoss = trainLoss
        self.trainTop1 = trainTop1
        self.validationLoss = validationLoss
        self.validationTop1 = validationTop1
        self.validationTop5 = validationTop5
        self.validationStreaming = validationStreaming
        self.epochSeconds = epochSeconds
        self.resolution = resolution
        self.learningRate = learningRate
    }

    private enum CodingKeys: String, CodingKey {
        case time, epoch, step, samples, resolution
        case trainLoss = "train_loss"
        case trainTop1 = "train_top1"
        case validationLoss = "val_loss"
        case validationTop1 = "val_top1"
        case validationTop5 = "val_top5"
        case validationStreaming = "val_streaming"
        case epochSeconds = "epoch_seconds"
        case averageValidationLoss = "ema_val_loss"
        case averageValidationTop1 = "ema_val_top1"
        case learningRate = "lr"
    }
}
