import HeadroomModels
/// Why a model file cannot be used as a classifier, or does not fit the data; every case
/// names the file and says what to do.
public enum ClassifierError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(path: String)
    /// A run directory without `checkpoints/best.safetensors`.
    case noBestCheckpoint(runDirectory: String)
    case unreadable(path: String, reason: String)
    case missingClassNames(path: String)
    case unknownArchitecture(path: String, name: String?)
    case weightsDoNotFit(path: String, architecture: String, reason: String)
    /// The data's classes are not the checkpoint's, in the same order.
    case classMismatch(checkpoint: [String], data: [String])
    case writeFailed(path: String, reason: String)
    /// An export destination whose extension names no format Headroom writes.
    case unsupportedExportFormat(path: String)
    /// A network for other than three bands whose file does not say how its input is read.
    case missingInput(path: String, bands: Int)
    /// `headroom.input` or `headroom.normalization` unreadable, or not for the network's bands.
    case badInput(path: String, text: String, bands: Int)

    public var description: String {
        switch self {
        case let .notFound(path):
            "\(path): no such file or directory; give a model file (RUN_DIR/checkpoints/best.safetensors) or a run directory"
        case let .noBestCheckpoint(runDirectory):
            "\(runDirectory) holds no checkpoints/best.safetensors: the run has not finished an epoch yet; "
                + "train it further (headroom train --resume \(runDirectory)) or give a model file"
        case let .unreadable(path, reason):
            "\(path): cannot read the weights: \(reason)"
        case let .missingClassNames(path):
            "\(path) has no \(ModelFile.MetadataKey.classNames) metadata, so its outputs have no names; "
                + "use a file Headroom wrote (RUN_DIR/checkpoints/best.safetensors or one from headroom export)"
        case let .unknownArchitecture(path, name?):
            "\(path): unknown architecture \"\(name)\" in \(ModelFile.MetadataKey.architecture); "
                + "Headroom knows \(ResNet.Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .unknownArchitecture(path, nil):
            "\(path): no \(ModelFile.MetadataKey.architecture) metadata, and the tensors are not those of "
                + ResNet.Architecture.allCases.map(\.rawValue).joined(separator: ", ")
        case let .weightsDoNotFit(path, architecture, reason):
            "\(path): the tensors do not fit \(architecture): \(reason)"
        case let .classMismatch(checkpoint, data):
            Self.describeMismatch(checkpoint: checkpoint, data: data)
        case let .writeFailed(path, reason):
            "cannot write \(path): \(reason)"
        case let .unsupportedExportFormat(path):
            "\(path): Headroom exports to \(ExportFormat.allCases.map { ".\($0.rawValue)" }.joined(separator: ", ")) "
                + "(\(ExportFormat.allCases.map(\.summary).joined(separator: "; "))); "
                + "a .pt/.pth would need PyTorch's pickle or TorchScript, which Headroom does not write"
        case let .missingInput(path, bands):
            "\(path): the network takes \(bands) band\(bands == 1 ? "" : "s") but the file has no \(ModelInput.MetadataKey.input) "
                + "metadata saying how they are read and normalised; use a file Headroom wrote"
        case let .badInput(path, text, bands):
            "\(path): \(ModelInput.MetadataKey.input) \(text) with its \(ModelFile.MetadataKey.normalization) does not describe "
                + "the network's \(bands)-band input"
        }
    }

    private static func describeMismatch(checkpoint: [String], data: [String]) -> String {
        let onlyInCheckpoint = checkpoint.filter { !data.contains($0) }
        let onlyInData = data.filter { !checkpoint.contains($0) }
        guard !onlyInCheckpoint.isEmpty || !onlyInData.isEmpty else {
            return "the data's classes are the checkpoint's but in another order ([\(data.joined(separator: ", "))] "
                + "against [\(checkpoint.joined(separator: ", "))]); the class folders must sort as the checkpoint's names do"
        }
        return "the data's class folders are not the checkpoint's classes: only in the checkpoint: "
            + "[\(onlyInCheckpoint.joined(separator: ", "))], only in the data: [\(onlyInData.joined(separator: ", "))]; "
            + "evaluate on a folder with one subfolder per checkpoint class"
    }
}
