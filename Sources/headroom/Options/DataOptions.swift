import ArgumentParser
import Headroom

/// `train` and `plan`'s options, group "Data": what to train and validate on, and how it is read.
struct DataOptions: ParsableArguments {
    @Argument(help: "A folder holding train/ and val/ (ImageFolder layout), or omit and use --train and --val.")
    var data: String?

    @Option(help: "Training images: an ImageFolder directory or a CSV manifest (path,label).")
    var train: String?

    @Option(help: "Validation images, with the same classes.")
    var val: String?

    @Option(help: "Decoding threads.")
    var workers = 2

    @Option(help: "skip: replace an undecodable image in its batch and report it; fail: stop the run.")
    var onBadImage: TrainingConfiguration.BadImagePolicy = .skip

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit
}
