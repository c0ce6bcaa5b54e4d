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

    @Option(help: ArgumentHelp(
        "Whole slides: the pyramid level the network sees (0 is the scan's full resolution; default 0).",
        discussion: "Slides (.svs, .ndpi, .mrxs, .scn, .vms, .bif, a pyramidal TIFF) are read through OpenSlide, only the tiles a region touches. Training takes --image-size² regions at this level, centred on tissue."))
    var slideLevel: Int?

    @Option(help: ArgumentHelp(
        "Whole slides: microns per pixel the network sees, read from the nearest finer level and resized (0.5 is about 20×).",
        valueName: "µm"))
    var slideMpp: String?

    @Option(help: "Whole slides: training regions per slide per epoch, each at its own random place (default 1).")
    var slideRegions: Int?

    @Flag(help: "Whole slides: take training regions anywhere, not only where the thumbnail shows tissue.")
    var noTissueMask = false

    @Option(help: "Whole slides: what validation, evaluate and predict see: center (an --image-size² region at the tissue's centre) or whole (the slide, shrunk to fit).")
    var slideEval: SlideReading.Evaluation?

    /// The slide options as one reading, nil when none was given.
    var slideReading: SlideReading? {
        guard slideLevel != nil || slideMpp != nil || noTissueMask || slideEval != nil || slideRegions != nil else { return nil }
        let view: SlideReading.View = slideMpp.flatMap(SlideReading.micronsPerPixel(parsing:)).map { .micronsPerPixel($0) } ?? .level(slideLevel ?? 0)
        return SlideReading(view: view, tissueMask: !noTissueMask, evaluation: slideEval ?? .center)
    }

    /// The slide options' own mistakes.
    func validateSlideOptions() throws {
        if let level = slideLevel, level < 0 { throw ValidationError("--slide-level must be 0 or more (got \(level))") }
        if let mpp = slideMpp, SlideReading.micronsPerPixel(parsing: mpp) == nil {
            throw ValidationError("--slide-mpp \(mpp) is not a positive number of microns per pixel (e.g. 0.5)")
        }
        if slideLevel != nil && slideMpp != nil { throw ValidationError("--slide-level and --slide-mpp both choose the resolution; give one") }
    }

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit
}
