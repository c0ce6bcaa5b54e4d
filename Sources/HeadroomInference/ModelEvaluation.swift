public import HeadroomData
public import HeadroomReporting
/// How a classifier does on a labelled image folder: loss, top-1, top-5, the confusion
/// matrix and per-class precision, recall and F1.
///
/// It runs validation's own path: `BatchLoader` with the evaluation transform and
/// `Evaluator`. As in training's validation, an image that cannot be decoded is left out
/// (and listed in `unreadableImages`), never replaced, so per-class counts stay true.
public struct ModelEvaluation: Sendable {
    public let classNames: [String]
    public let imageSize: Int
    /// Loss, top-1, top-5 (with more than five classes), samples and the raw confusion counts.
    public let result: EvaluationResult
    public let confusion: ConfusionMatrix
    public let metrics: ClassificationMetrics
    public let unreadableImages: [BadSample]

    /// Evaluates `classifier` on an ImageFolder whose classes must be the classifier's.
    public init(
        classifier: Classifier, imageFolder root: String, imageSize: Int, batchSize: Int = 64, workers: Int = 2,
        decoder: ImageDecoder = ImageDecoder()
    ) throws {
        try self.init(
            classifier: classifier, data: ImageFolder(root: root).scan(), imageSize: imageSize, batchSize: batchSize,
            workers: workers, decoder: decoder)
    }

    /// Evaluates `classifier` on labelled samples whose classes must be the classifier's, in order.
    public init(
        classifier: Classifier, data: LabeledSamples, imageSize: Int, batchSize: Int = 64, workers: Int = 2,
        decoder: ImageDecoder = ImageDecoder()
    ) throws {
        guard data.classes == classifier.classNames else {
            throw ClassifierError.classMismatch(checkpoint: classifier.classNames, data: data.classes)
        }
        // Read as the network's input was in training: its bands, samples and normalisation.
        let loader = BatchLoader(
            samples: data, transform: classifier.evaluationTransform(at: imageSize), seed: 0, workers: workers, decoder: classifier.decoder(from: decoder))
        loader.skipsBadSamples = true
        let evaluator = Evaluator(pass: classifier.pass, batchSize: batchSize)
        try evaluator.add(allOf: loader, resolution: imageSize)
        result = try evaluator.result()
        confusion = try ConfusionMatrix(classes: data.classes, counts: result.confusion)
        metrics = ClassificationMetrics(confusion)
        classNames = data.classes
        self.imageSize = imageSize
        unreadableImages = loader.badSamples
    }
}

extension ModelEvaluation: Encodable {
    private enum CodingKeys: String, CodingKey {
        case classes, imageSize = "image_size", samples, loss, top1, top5
        case perClass = "per_class", macroAverage = "macro_average", weightedAverage = "weighted_average"
        case confusion, unreadableImages = "unreadable_images"
    }

    private struct Scores: Encodable {
        var name: String?
        var precision: Double
        var recall: Double
        var f1: Double
        var support: Int?
    }

    private struct Unreadable: Encodable {
        var path: String
        var reason: String
    }

    /// The `--json` schema: see docs/inference.md, section Evaluate.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(classNames, forKey: .classes)
        try container.encode(imageSize, forKey: .imageSize)
        try container.encode(result.samples, forKey: .samples)
        try container.encode(result.loss, forKey: .loss)
        try container.encode(result.top1, forKey: .top1)
        try container.encode(result.top5, forKey: .top5)  // null with five classes or fewer
        try container.encode(
            metrics.classes.map { Scores(name: $0.name, precision: $0.precision, recall: $0.recall, f1: $0.f1, support: $0.support) },
            forKey: .perClass)
        for (averages, key) in [(metrics.macroAverage, CodingKeys.macroAverage), (metrics.weightedAverage, .weightedAverage)] {
            try container.encode(Scores(precision: averages.precision, recall: averages.recall, f1: averages.f1), forKey: key)
        }
        try container.encode(confusion.counts, forKey: .confusion)
        try container.encode(unreadableImages.map { Unreadable(path: $0.path, reason: $0.reason) }, forKey: .unreadableImages)
    }
}
