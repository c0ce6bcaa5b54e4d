import ArgumentParser
import Foundation
import Headroom

struct DemoData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Write a generated three-class JPEG image set (train/ and val/) for trying Headroom out.",
        discussion: "The same seed gives the same images. Existing files are kept, so it is quick to run again."
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
    var width = 160

    @Option(help: "Image height in pixels.")
    var height = 120

    func validate() throws {
        guard trainPerClass >= 1, valPerClass >= 1 else { throw ValidationError("each class needs at least one image") }
        guard (8...8192).contains(width), (8...8192).contains(height) else { throw ValidationError("sizes must be between 8 and 8192 px") }
    }

    func run() throws {
        var dataset = SyntheticDataset()
        dataset.seed = seed
        dataset.trainPerClass = trainPerClass
        dataset.validationPerClass = valPerClass
        dataset.width = width
        dataset.height = height
        let (train, validation) = try dataset.write(to: URL(fileURLWithPath: directory))
        print("wrote \(train.path) and \(validation.path): \(SyntheticDataset.classNames.joined(separator: ", "))")
    }
}
