public import ArgumentParser
import Foundation
public import Headroom

extension SyntheticDataset.FileFormat: ExpressibleByArgument {}

struct DemoData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Write a generated image set (train/ and val/) of five classes for trying Headroom out.",
        discussion: """
            Five learnable classes — circles, squares and triangles darker than a plain background, stripes and \
            checkers filling the frame — each image with its own colours, scale, rotation, position, lighting and \
            noise. By default 1024x768, JPEG with every fourth image a PNG. The same seed gives the same bytes. \
            Files this set wrote before are kept, so it is quick to run again (a set of other settings, or an older \
            Headroom's, is drawn again); a folder holding another set's files is refused.
            """
    )

    @Argument(help: "The folder to write train/ and val/ into.")
    var directory: String

    @Option(help: "Seed of the drawing.")
    var seed: UInt64 = 0

    @Option(help: "Training images per class.")
    var trainPerClass = 48

    @Option(help: "Validation images per class.")
    var valPerClass = 16

    @Option(help: "Image width in pixels.")
    var width = 1024

    @Option(help: "Image height in pixels.")
    var height = 768

    @Option(help: "File format: mixed (JPEG, every fourth image PNG), jpeg, png or webp.")
    var format = SyntheticDataset.FileFormat.mixed

    @Option(help: "How many of the classes to draw (2 to 5), in order: checkers, circles, squares, stripes, triangles.")
    var classes = SyntheticDataset.classNames.count

    @Option(help: "Bands per image: 3 writes RGB photos; any other count is written as multi-band TIFF (band b is the drawing's channel b mod 3).")
    var bands = 3

    @Option(help: "8, or 16: samples × 257 with noise in the low byte, as multi-band TIFF.")
    var bitDepth = 8

    @Flag(help: "Write whole slides: each drawing on a white background as a pyramidal tiled TIFF (levels halved down to 64 px, 0.5 µm/px) that OpenSlide reads.")
    var slides = false

    func validate() throws {
        guard (1...64).contains(bands) else { throw ValidationError("--bands must be between 1 and 64 (got \(bands))") }
        guard bitDepth == 8 || bitDepth == 16 else { throw ValidationError("--bit-depth must be 8 or 16 (got \(bitDepth))") }
        guard trainPerClass >= 1, valPerClass >= 1 else { throw ValidationError("each class needs at least one image") }
        guard (2...SyntheticDataset.classNames.count).contains(classes) else {
            throw ValidationError("--classes must be between 2 and \(SyntheticDataset.classNames.count) (got \(classes))")
        }
        guard (8...8192).contains(width), (8...8192).contains(height) else { throw ValidationError("sizes must be between 8 and 8192 px") }
        if slides && (bands != 3 || bitDepth != 8) { throw ValidationError("--slides writes 8-bit RGB slides; leave --bands and --bit-depth out") }
    }

    func run() throws {
        // Into an ImageFolder (DIR = data/train) it would add classes named train and val.
        let others = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { !$0.hasPrefix(".") && $0 != "train" && $0 != "val" }.sorted()
        guard others.isEmpty else {
            throw ValidationError(
                "\(directory) already holds \(others.prefix(3).joined(separator: ", "))\(others.count > 3 ? ", …" : ""): demo-data writes "
                    + "train/ and val/ into a new or empty folder (or one it wrote before)")
        }
        var dataset = SyntheticDataset()
        dataset.seed = seed
        dataset.trainPerClass = trainPerClass
        dataset.validationPerClass = valPerClass
        dataset.width = width
        dataset.height = height
        dataset.format = format
        dataset.bands = bands
        dataset.bitDepth = bitDepth
        dataset.slides = slides
        dataset.classes = Array(SyntheticDataset.classNames.prefix(classes))
        let (train, validation) = try dataset.write(to: URL(fileURLWithPath: directory))
        print("wrote \(train.path) and \(validation.path): \(dataset.classes.joined(separator: ", "))")
    }
}
