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

    @Option(help: ArgumentHelp(
        "The bands to train on, in order, numbered from 1 as GDAL does: 4,3,2 (default: every band the images have).",
        discussion: "The images' bands are read from their headers (TIFF samples per pixel, PNG colour type, DICOM samples per pixel); all of a set must agree."))
    var bands: String?

    @Option(help: ArgumentHelp(
        "Input normalisation: auto, imagenet, data, or MEAN,…/STD,… per band.",
        discussion: "auto keeps ImageNet's statistics for 8-bit RGB and measures every other set's per band on a sample of the training images (reported and saved with the run). Given values for 8-bit photos may be in [0, 1] (0.485,0.456,0.406/0.229,0.224,0.225) or 0…255; for deeper samples and DICOM they are in the stored or modality units."))
    var normalize: String?

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit
}
