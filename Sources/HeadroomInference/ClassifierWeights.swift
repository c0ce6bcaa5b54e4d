public import Foundation
import HeadroomData
public import HeadroomExecution
public import HeadroomModels
import HeadroomReporting
public import Torch
import TorchNN

/// A classifier's weights as a file holds them: a torchvision ResNet state dict, the class
/// names (`headroom.class_names`) and the architecture (`headroom.architecture`, or told by
/// the tensors themselves when a file lacks it).
public struct ClassifierWeights {
    /// The model file read (for a run directory, its `checkpoints/best.safetensors`).
    public let url: URL
    /// The tensors in file order, untouched.
    public let tensors: [(name: String, tensor: Tensor)]
    public let classNames: [String]
    public let architecture: ResNet.Architecture
    /// The validation resolution of the run that saved the file, when it is a Headroom
    /// checkpoint with its `state.json` beside it.
    public let trainedImageSize: Int?
    /// The shorter side validation resized to before that crop, when the run chose it (`--val-resize-size`).
    public let trainedResizeSize: Int?
    /// The precision the run that saved the file trained in: from an export's metadata, or
    /// from the run's `config.json` for a checkpoint. Information only: inference runs in
    /// fp32 unless asked (``Classifier``).
    public let trainedPrecision: Precision?
    /// How the network's input is read and normalised (8-bit RGB with ImageNet's statistics
    /// for files from before it was recorded).
    public let input: ModelInput

    /// Reads a model file, or the best checkpoint of a run directory.
    public init(contentsOf location: URL) throws(ClassifierError) {
        let url = try Self.modelFile(at: location)
        let contents: (tensors: [(name: String, tensor: Tensor)], metadata: [String: String])
        do {
            contents = try ModelFile.read(url)
        } catch {
            throw .unreadable(path: url.path, reason: "\(error)")
        }
        guard let classNames = ModelFile.classNames(in: contents.metadata), !classNames.isEmpty else {
            throw .missingClassNames(path: url.path)
        }
        let architecture: ResNet.Architecture
        if let name = contents.metadata[ModelFile.MetadataKey.architecture] {
            guard let named = ResNet.Architecture(rawValue: name) else { throw .unknownArchitecture(path: url.path, name: name) }
            architecture = named
        } else {
            let shapes = Dictionary(contents.tensors.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { first, _ in first })
            guard let inferred = ResNet.Architecture.matching(stateDict: shapes) else {
                throw .unknownArchitecture(path: url.path, name: nil)
            }
            architecture = inferred
        }
        self.url = url
        self.tensors = contents.tensors
        self.classNames = classNames
        self.architecture = architecture
        let trained = Self.trainedSettings(besides: url)
        // A run's checkpoint has its state beside it; an exported file carries the size itself.
        trainedImageSize = trained.map {
            ResizeSchedule.validationResolution(
                given: $0.validationImageSize, imageSize: $0.imageSize, epochs: $0.epochs, schedule: $0.resizeSchedule)
        } ?? contents.metadata[ModelFile.MetadataKey.imageSize].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        trainedResizeSize = trained.map { $0.validationResizeSize }
            ?? contents.metadata[ModelFile.MetadataKey.resizeSize].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        trainedPrecision = contents.metadata[ModelFile.MetadataKey.trainedPrecision].flatMap(Precision.init(rawValue:))
            ?? Self.resolvedPrecision(ofRunHolding: url)
        let conv1 = contents.tensors.first { $0.name == "conv1.weight" }?.tensor
        let bands = conv1.flatMap { $0.rank == 4 ? $0.shape[1] : nil } ?? 3
        input = try ModelInput(metadata: contents.metadata, inputBands: bands, path: url.path)
    }

    /// `location` itself when it is a file; `location/checkpoints/best.safetensors` when it is a run directory.
    public static func modelFile(at location: URL) throws(ClassifierError) -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
            throw .notFound(path: location.path)
        }
        guard isDirectory.boolValue else { return location }
        let best = RunDirectory(location).checkpoints.appendingPathComponent("best.safetensors")
        guard FileManager.default.fileExists(atPath: best.path) else { throw .noBestCheckpoint(runDirectory: location.path) }
        return best
    }

    /// The metadata a file of these weights carries: class names, architecture, the image
    /// size they were validated at (when known) and the input normalisation, so that the file
    /// alone says how to use it.
    public var metadata: [String: String] {
        var metadata = ModelFile.classNamesMetadata(classNames)
        metadata[ModelFile.MetadataKey.architecture] = architecture.rawValue
        if let trainedImageSize { metadata[ModelFile.MetadataKey.imageSize] = String(trainedImageSize) }
        if let trainedResizeSize { metadata[ModelFile.MetadataKey.resizeSize] = String(trainedResizeSize) }
        if let trainedPrecision { metadata[ModelFile.MetadataKey.trainedPrecision] = trainedPrecision.rawValue }
        metadata.merge(input.metadata) { _, input in input }
        return metadata
    }

    /// A CPU network with these weights, in evaluation mode; throws when they do not fit it
    /// exactly (strict loading, as torchvision's `load_state_dict`).
    public func makeModel() throws -> ResNet {
        let model = try ResNet(architecture, classCount: classNames.count, inputBands: input.format.bands)
        do {
            try model.load(Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first }))
        } catch let mismatch as StateDictMismatch {
            throw ClassifierError.weightsDoNotFit(path: url.path, architecture: architecture.rawValue, reason: "\(mismatch.report)")
        }
        model.eval()
        return model
    }

    /// What inference needs of the run that saved a Headroom checkpoint: read from the
    /// `state.json` beside it, when there is one (fields a run always saved).
    private struct TrainedSettings: Decodable {
        var imageSize: Int
        var validationImageSize: Int?
        var validationResizeSize: Int?
        var epochs: Int
        var resizeSchedule: ResizeSchedule?
    }

    /// The precision `config.json` says a run resolved to, for a checkpoint in its `checkpoints/`.
    private static func resolvedPrecision(ofRunHolding url: URL) -> Precision? {
        struct Record: Decodable { var precision: Precision }
        let run = url.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        guard let data = try? Data(contentsOf: RunDirectory(run).configuration) else { return nil }
        return try? JSONDecoder().decode(Record.self, from: data).precision
    }

    private static func trainedSettings(besides url: URL) -> TrainedSettings? {
        struct State: Decodable { var configuration: TrainedSettings }
        let state = url.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("state.json")
        guard let data = try? Data(contentsOf: state) else { return nil }
        return try? JSONDecoder().decode(State.self, from: data).configuration
    }
}
