import ArgumentParser
import Foundation
import Headroom
import Torch

/// The options `evaluate` and `predict` share: how images reach the model.
struct InferenceOptions: ParsableArguments {
    @Option(help: "Input resolution in pixels (default: the run's validation resolution for a Headroom checkpoint, else 224).")
    var imageSize: Int?

    @Option(help: "Images per forward pass.")
    var batchSize = 64

    @Option(help: "Decoding threads.")
    var workers = 2

    @Option(help: "auto, cpu, cuda or cuda:N.", transform: DeviceRequest.init(argument:))
    var device = DeviceRequest.auto

    @Option(help: "fp32 (exact: the same answer from a run, its export and its ONNX file, on any CPU), auto (the device's faster one), bf16, fp16 or fp64.")
    var precision: PrecisionChoice = .fp32

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit

    /// The decoder for the images to classify.
    var decoder: ImageDecoder { ImageDecoder(pixelLimit: maxImagePixels) }

    func validate() throws {
        // The same range train takes: a model trained at 16 px is evaluated at 16 px.
        if let imageSize, imageSize < 16 || imageSize > TrainingConfiguration.largestImageSize {
            throw ValidationError("--image-size must be between 16 and \(TrainingConfiguration.largestImageSize) px (got \(imageSize))")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
    }

    /// The classifier in a model file or run directory, on the chosen device.
    func classifier(at checkpoint: String) throws -> Classifier {
        let target = try device.resolve()
        let chosen = precision.resolve(on: target)
        if chosen.autocastType != nil {
            // Opt-in, and it changes the answers: say so where the answers are read.
            printError("headroom: inference in \(chosen.rawValue) (asked): probabilities differ from fp32's by about 1e-3, and by CPU")
        }
        return try Classifier(contentsOf: URL(fileURLWithPath: checkpoint), device: target, precision: chosen)
    }

    /// The resolution to feed `classifier`.
    func resolution(for classifier: Classifier) -> Int {
        imageSize ?? classifier.trainedImageSize ?? 224
    }
}
