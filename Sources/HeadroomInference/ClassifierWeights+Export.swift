public import Foundation
import HeadroomFormats
import HeadroomModels
import Torch

/// The files `headroom export` writes, told by the destination's extension.
public enum ExportFormat: String, CaseIterable, Sendable {
    case safetensors, onnx

    /// The format a destination's extension names, if Headroom writes it.
    public init?(destination: URL) {
        self.init(rawValue: destination.pathExtension.lowercased())
    }

    /// One line on what the file is, for errors and help.
    public var summary: String {
        switch self {
        case .safetensors: "a torchvision state dict"
        case .onnx: "an ONNX model, opset \(ONNXGraph.opsetVersion), dynamic batch"
        }
    }
}

extension ClassifierWeights {
    /// Writes the weights in the format the destination's extension names, atomically, after
    /// checking that they load into the architecture. Both formats carry `metadata` (class
    /// names, architecture, image size, normalisation).
    ///
    /// - `.safetensors`: a plain torchvision state dict, the tensors bit for bit, which
    ///   torchvision's `load_state_dict` takes as it is.
    /// - `.onnx`: the network in evaluation mode (see `ResNet.onnxModel`), weights as float32.
    public func export(to destination: URL) throws {
        guard let format = ExportFormat(destination: destination) else {
            throw ClassifierError.unsupportedExportFormat(path: destination.path)
        }
        let model = try makeModel()
        do {
            switch format {
            case .safetensors:
                try ModelFile.write(tensors, metadata: metadata, to: destination)
            case .onnx:
                let bytes = try model.onnxModel(producerVersion: HeadroomRelease.version, metadata: metadata)
                try AtomicFileWriter.write([Data(bytes)], to: destination)
            }
        } catch {
            throw ClassifierError.writeFailed(path: destination.path, reason: "\(error)")
        }
    }
}
