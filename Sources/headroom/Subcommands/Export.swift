import ArgumentParser
import Foundation
import Headroom

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's weights as a plain torchvision state dict with the class names in its metadata.",
        discussion: """
            The file is safetensors: safetensors.torch.load_file gives a state dict that \
            torchvision.models.<architecture>(num_classes=N).load_state_dict takes as it is. The metadata holds \
            headroom.class_names (a JSON array, in class-index order) and headroom.architecture. The tensors are \
            copied bit for bit; they are checked to load into the architecture first.
            """
    )

    @Argument(help: "A model file or a run directory (its best checkpoint).")
    var checkpoint: String

    @Option(help: "The file to write (replaced if it exists).")
    var to: String

    func run() throws {
        try reportingFailures(of: "export") {
            let weights = try ClassifierWeights(contentsOf: URL(fileURLWithPath: checkpoint))
            let destination = URL(fileURLWithPath: to)
            try weights.export(to: destination)
            print("wrote \(destination.path): \(weights.architecture.rawValue), \(weights.classNames.count) classes, \(weights.tensors.count) tensors")
        }
    }
}
