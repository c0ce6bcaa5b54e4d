import ArgumentParser
import Foundation
import Headroom

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint as a torchvision state dict (.safetensors) or an ONNX model (.onnx).",
        discussion: """
            The extension of --to picks the format:
              .safetensors  safetensors.torch.load_file gives a state dict that \
            torchvision.models.<architecture>(num_classes=N).load_state_dict takes as it is; the tensors are \
            copied bit for bit.
              .onnx         the network in evaluation mode, opset 17: input "input" (N×3×H×W, normalised, \
            batch and size dynamic), outputs "logits" and "probabilities"; float32 weights under \
            torchvision's names. Runs in onnxruntime, TensorRT, OpenVINO, … without Python or Headroom.
            Both record headroom.class_names (a JSON array, in class-index order), headroom.architecture, \
            headroom.image_size (the resolution it was validated at, which predict and evaluate then use) and \
            headroom.normalization (ONNX: metadata_props). The weights are checked to load into the architecture first.
            """
    )

    func validate() throws {
        guard ExportFormat(destination: URL(fileURLWithPath: to)) != nil else {
            throw ValidationError(ClassifierError.unsupportedExportFormat(path: to).description)
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
            let size = (try? FileManager.default.attributesOfItem(atPath: destination.path)[.size] as? Int).flatMap { $0 }
            let format = ExportFormat(destination: destination).map { " (\($0.summary))" } ?? ""
            print(
                "wrote \(destination.path)\(format): \(weights.architecture.rawValue), \(weights.classNames.count) classes, "
                    + "\(weights.tensors.count) tensors" + (size.map { String(format: ", %.1f MiB", Double($0) / 1_048_576) } ?? ""))
        }
    }
}
