import ArgumentParser
import Foundation
import Headroom

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a trained model on a labelled image folder: loss, top-1, top-5, per-class scores, confusion.",
        discussion: """
            CHECKPOINT is a model file (RUN_DIR/checkpoints/best.safetensors, or one from headroom export) or a run \
            directory (its best checkpoint). DATA_DIR is in the ImageFolder layout (DATA_DIR/<class>/<image>) with \
            exactly the checkpoint's classes. Images are prepared as in validation: resize to 8/7 of the size, centre crop. \
            Per-class precision, recall and F1 follow scikit-learn's classification_report with zero_division=0.
            """
    )

    @Argument(help: "A model file or a run directory.")
    var checkpoint: String

    @Argument(help: "A labelled image folder (DATA_DIR/<class>/<image>) with the checkpoint's classes.")
    var data: String

    @OptionGroup var options: InferenceOptions

    @Flag(help: "Print the results as JSON (the schema is in docs/inference.md, section Evaluate).")
    var json = false

    func run() throws {
        try reportingFailures(of: "evaluate") {
            let classifier = try options.classifier(at: checkpoint)
            let evaluation = try ModelEvaluation(
                classifier: classifier, imageFolder: data, imageSize: options.resolution(for: classifier),
                batchSize: options.batchSize, workers: options.workers, decoder: options.decoder)
            for image in evaluation.unreadableImages {
                printError("headroom evaluate: unreadable image, left out of the counts: \(image)")
            }
            if json {
                print(try Self.json(evaluation))
            } else {
                for line in Self.lines(evaluation) { print(line) }
            }
        }
    }

    static func json(_ evaluation: ModelEvaluation) throws -> String { try jsonText(evaluation) }

    /// The terminal report: headline numbers, the per-class table, the confusion matrix.
    static func lines(_ evaluation: ModelEvaluation) -> [String] {
        let result = evaluation.result
        var lines = TextTable.lines([
            ["images", "\(result.samples) at \(evaluation.imageSize) px"
                + (result.streaming.map { ", streamed \($0) (an image did not fit whole)" } ?? "")],
            ["loss", String(format: "%.4f", result.loss)],
            ["top-1", percent(result.top1)],
            ["top-5", result.top5.map(percent) ?? "n/a (5 classes or fewer)"],
        ])
        lines.append("")
        let metrics = evaluation.metrics
        let score = { (value: Double) in String(format: "%.3f", value) }
        var rows = [["class", "precision", "recall", "f1", "support"]]
        rows += metrics.classes.map { [$0.name, score($0.precision), score($0.recall), score($0.f1), "\($0.support)"] }
        rows.append(["", "", "", "", ""])
        for (name, average) in [("macro avg", metrics.macroAverage), ("weighted avg", metrics.weightedAverage)] {
            rows.append([name, score(average.precision), score(average.recall), score(average.f1), "\(metrics.total)"])
        }
        lines += TextTable.lines(rows, rightAligned: [1, 2, 3, 4])
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
        let confusion = evaluation.confusion
        let header = [""] + confusion.classes
        lines += TextTable.lines(
            [header] + zip(confusion.classes, confusion.counts).map { [$0] + $1.map(String.init) },
            rightAligned: Set(1...confusion.classCount))
        return lines
    }
}
