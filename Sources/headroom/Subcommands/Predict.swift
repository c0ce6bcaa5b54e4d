import ArgumentParser
import Foundation
import Headroom

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images: the most likely classes of each, with their probabilities.",
        discussion: """
            Each IMAGE_OR_DIR is an image file, or a folder whose images (.jpg, .jpeg, .png, .webp, .tif, .tiff, \
            .bmp, .dcm, .dicom, in any case, at any depth) are all classified. Images are read as the model's run read \
            them (its bands, sample depth and normalisation, saved with its weights) and prepared as in validation, and \
            classified in batches; probabilities are the softmax of the logits. An image that cannot be read or \
            decoded is reported on stderr (and as a row with an error in --json and --csv) and the others go on.

            Exit status: 0 when every image was classified; 1 when some could not be; 2 when nothing could run \
            (unreadable checkpoint, no images found); 64 for invalid options.
            """
    )

    @Argument(help: "A model file or a run directory.")
    var checkpoint: String

    @Argument(help: "Image files, or folders of images.")
    var inputs: [String] = []

    @Option(help: "How many of the most likely classes to list per image.")
    var topK = 5

    @Flag(help: "Print one JSON array of {path, classes: [{name, probability}], error} at the end.")
    var json = false

    @Flag(help: "Print CSV: path, then class_1, probability_1 … class_K, probability_K, then error.")
    var csv = false

    @OptionGroup var options: InferenceOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one image file or folder after the checkpoint") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard !(json && csv) else { throw ValidationError("--json and --csv cannot be combined; choose one output format") }
    }

    func run() throws {
        var failed = false
        try reportingFailures(of: "predict") {
            let files = try imageFiles(in: inputs, command: "predict")
            let classifier = try options.classifier(at: checkpoint)
            let k = min(topK, classifier.classNames.count)
            if csv { print(Self.csvHeader(topK: k)) }
            var all: [Prediction] = []
            try classifier.predict(
                files: files, imageSize: options.resolution(for: classifier), topK: k, batchSize: options.batchSize,
                workers: options.workers, decoder: options.decoder
            ) { batch in
                for prediction in batch {
                    if let error = prediction.error { printError("headroom predict: \(prediction.displayPath): \(error)") }
                    if csv {
                        print(Self.csvRow(prediction, topK: k))
                    } else if !json, prediction.isSuccessful {
                        print(Self.line(prediction))
                    }
                }
                fflush(nil)  // every output stream: stdout without touching the global
                all += batch
            }
            if json { print(try Self.json(all)) }
            failed = Self.exitCode(for: all) != .success
        }
        if failed { throw ExitCode.failure }
    }

    /// 0 when every image was classified, 1 when any failed.
    static func exitCode(for predictions: [Prediction]) -> ExitCode {
        predictions.allSatisfy(\.isSuccessful) ? .success : .failure
    }

    static func line(_ prediction: Prediction) -> String {
        "\(prediction.displayPath): " + prediction.classes.map { "\($0.name) \(percent($0.probability))" }.joined(separator: ", ")
    }

    static func csvHeader(topK: Int) -> String {
        (["path"] + (1...topK).flatMap { ["class_\($0)", "probability_\($0)"] } + ["error"]).joined(separator: ",")
    }

    static func csvRow(_ prediction: Prediction, topK: Int) -> String {
        var cells = [prediction.displayPath]
        for rank in 0..<topK {
            if rank < prediction.classes.count {
                cells += [prediction.classes[rank].name, String(format: "%.6f", prediction.classes[rank].probability)]
            } else {
                cells += ["", ""]
            }
        }
        cells.append(prediction.error ?? "")
        return cells.map(csvField).joined(separator: ",")
    }

    /// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func json(_ predictions: [Prediction]) throws -> String { try jsonText(predictions) }
}
