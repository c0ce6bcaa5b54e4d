import ArgumentParser
import Foundation
import Headroom

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's weights as a plain torchvision state dict with the class names in its metadata.",
        discussion: """
            The file is safetensors: safetensors.torch.load_file gives a state dict that \
            torchvision.models.<architecture>(num_classes=N).load_state_dict takes as it is. The metadata holds \
            headroom.class_names (a JSON array, in class-index order), headroom.architecture, headroom.image_size \
            (the resolution it was validated at, which predict and evaluate then use) and headroom.normalization. \
            The tensors are copied bit for bit; they are checked to load into the architecture first.
            """
    )

    /// The formats `--to` can name, by extension.
    static let formats = ["safetensors"]

    func validate() throws {
        let suffix = URL(fileURLWithPath: to).pathExtension.lowercased()
        guard Self.formats.contains(suffix) else {
            throw ValidationError(
                "--to \(to): Headroom writes \(Self.formats.map { ".\($0)" }.joined(separator: ", ")) (a torchvision state dict with "
                    + "its metadata); ONNX and TorchScript export are not built yet, and a .pt/.pth would need PyTorch's pickle")
        }
    }

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
