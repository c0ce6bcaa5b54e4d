public import Foundation
public import HeadroomExecution
import HeadroomFormats
import HeadroomInference
import HeadroomMemory
import HeadroomModels
import Torch
import TorchNN
import TorchOptim

/// Checkpoints in `RUN_DIR/checkpoints/`, written so that a crash, a kill -9 or a full disk
/// at any moment leaves the previous checkpoint whole.
///
/// Each checkpoint is a directory `step-NNNNNNNN/` with `model.safetensors` (a plain
/// torchvision state dict with the class names in its metadata), `optimizer.safetensors`
/// and `state.json`. It is written under a temporary name, every file and the directory
/// fsynced, then renamed into place; then the links `last.safetensors`, `last.json` (and
/// `best.*`) are switched atomically by renaming new symlinks over them. Old checkpoint
/// directories are pruned, except the ones the links point at.
public struct Checkpointer: Sendable {
    public let directory: URL

    public init(runDirectory: URL) {
        directory = runDirectory.appendingPathComponent("checkpoints")
    }

    public enum Reason: String, Sendable { case epoch, interval, interrupt, best }

    /// Saves a checkpoint and points `last` (and, with `isBest`, `best`) at it.
    @discardableResult
    public func save(step: TrainingStep, state: CheckpointState, isBest: Bool, average: ModelAverage? = nil) throws -> URL {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = String(format: "step-%08d", state.globalStep)
        let final = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(".\(name).partial")
        try? fileManager.removeItem(at: temporary)
        try fileManager.createDirectory(at: temporary, withIntermediateDirectories: false)
        do {
            var metadata = ModelFile.classNamesMetadata(state.classNames)
            metadata[ModelFile.MetadataKey.architecture] = state.configuration.architecture.rawValue
            metadata.merge((state.input ?? .imageNetRGB).metadata) { _, input in input }
            try ModelFile.write(step.model.stateDict(), metadata: metadata, to: temporary.appendingPathComponent("model.safetensors"))
            // The average is a model file like the weights: evaluate, predict and export read it as one.
            if let average {
                try ModelFile.write(average.model.stateDict(), metadata: metadata, to: temporary.appendingPathComponent(Self.averageFile))
            }
            try ModelFile.write(step.optimizer.namedState(), to: temporary.appendingPathComponent("optimizer.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFileWriter.write([try encoder.encode(state)], to: temporary.appendingPathComponent("state.json"))
            try Self.synchronize(temporary)
            try? fileManager.removeItem(at: final)  // a checkpoint of the same step from an interrupted save
            try fileManager.moveItem(at: temporary, to: final)
            try Self.synchronize(directory)
        } catch {
            try? fileManager.removeItem(at: temporary)
            throw CheckpointError.writeFailed(path: final.path, underlying: "\(error)", previousStep: (try? latest())?.state.globalStep)
        }
        try link("last", to: name)
        if isBest { try link("best", to: name) }
        prune()
        return final
    }

    /// The state of the latest checkpoint, or nil when there is none.
    public func latest() throws -> (state: CheckpointState, directory: URL)? {
        let link = directory.appendingPathComponent("last.json")
        // No `last` link, or one whose checkpoint is gone: the newest whole checkpoint
        // directory left is the latest (an intact earlier one is not ignored).
        guard FileManager.default.fileExists(atPath: link.path) else { return newestWholeCheckpoint() }
        let resolved = link.resolvingSymlinksInPath().deletingLastPathComponent()
        do {
            let state = try CheckpointState.decoded(from: Data(contentsOf: link))
            return (state, resolved)
        } catch {
            throw CheckpointError.unreadable(path: link.path, underlying: "\(error)")
        }
    }

    /// The `step-NNNNNNNN/` directory of the highest step whose state.json reads and whose
    /// weights and optimiser files are there; nil when none is.
    private func newestWholeCheckpoint() -> (state: CheckpointState, directory: URL)? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names.filter({ $0.hasPrefix("step-") }).sorted(by: >) {
            let checkpoint = directory.appendingPathComponent(name)
            let files = ["model.safetensors", "optimizer.safetensors"].map { checkpoint.appendingPathComponent($0).path }
            guard files.allSatisfy(FileManager.default.fileExists),
                let data = try? Data(contentsOf: checkpoint.appendingPathComponent("state.json")),
                let state = try? CheckpointState.decoded(from: data)
            else { continue }
            return (state, checkpoint)
        }
        return nil
    }

    /// The weights' exponential moving average in a checkpoint (`--model-ema`).
    public static let averageFile = "ema.safetensors"

    /// Loads a checkpoint's moving average into `average`; a checkpoint saved without one
    /// (the run resumed with `--model-ema` added) starts it again from the weights.
    public func restore(_ checkpoint: URL, into average: ModelAverage, updates: Int?) throws {
        let file = checkpoint.appendingPathComponent(Self.averageFile)
        guard FileManager.default.fileExists(atPath: file.path), let updates else {
            average.restart()
            return
        }
        let tensors = try ModelFile.read(file).tensors
        try average.model.load(Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.tensor) }))
        average.updates = updates
    }

    /// Loads a checkpoint's weights and optimiser state into `step`.
    public func restore(_ checkpoint: URL, into step: TrainingStep, optimizerSteps: Int) throws {
        let model = try ModelFile.read(checkpoint.appendingPathComponent("model.safetensors")).tensors
        try step.model.load(Dictionary(uniqueKeysWithValues: model.map { ($0.name, $0.tensor) }))
        let optimizer = try ModelFile.read(checkpoint.appendingPathComponent("optimizer.safetensors")).tensors
        try step.optimizer.load(namedState: Dictionary(uniqueKeysWithValues: optimizer.map { ($0.name, $0.tensor) }), stepCount: optimizerSteps)
    }

    /// Points `<kind>.safetensors`, `<kind>.json` and `<kind>` at checkpoint `name`, each by
    /// renaming a fresh symlink over the old one (atomic on POSIX file systems).
    private func link(_ kind: String, to name: String) throws {
        let targets = [(kind, name), ("\(kind).safetensors", "\(name)/model.safetensors"), ("\(kind).json", "\(name)/state.json")]
        for (linkName, target) in targets {
            let link = directory.appendingPathComponent(linkName)
            let fresh = directory.appendingPathComponent(".\(linkName).new")
            try? FileManager.default.removeItem(at: fresh)
            try FileManager.default.createSymbolicLink(atPath: fresh.path, withDestinationPath: target)
            guard rename(fresh.path, link.path) == 0 else {
                throw CheckpointError.writeFailed(path: link.path, underlying: String(cString: strerror(errno)))
            }
        }
        try Self.synchronize(directory)
    }

    /// Removes checkpoint directories no link points at.
    private func prune() {
        let fileManager = FileManager.default
        let kept = Set(["last", "best"].compactMap { try? fileManager.destinationOfSymbolicLink(atPath: directory.appendingPathComponent($0).path) })
        let entries = (try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? []
        for entry in entries where entry.hasPrefix("step-") && !kept.contains(entry) {
            try? fileManager.removeItem(at: directory.appendingPathComponent(entry))
        }
    }

    /// fsync of a directory, so that the renames in it reach the disk.
    static func synchronize(_ directory: URL) throws {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw CheckpointError.writeFailed(path: directory.path, underlying: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw CheckpointError.writeFailed(path: directory.path, underlying: String(cString: strerror(errno)))
        }
    }
}

public enum CheckpointError: Error, CustomStringConvertible {
    /// `previousStep`: the step of the checkpoint still on disk, if any.
    case writeFailed(path: String, underlying: String, previousStep: Int? = nil)
    case unreadable(path: String, underlying: String)

    public var description: String {
        switch self {
        case let .writeFailed(path, underlying, previousStep?):
            "could not save the checkpoint \(path): \(underlying). The previous checkpoint (step \(previousStep)) is intact; "
                + "free some disk space and resume with --resume"
        case let .writeFailed(path, underlying, nil):
            "could not save the checkpoint \(path): \(underlying). No earlier checkpoint exists, so the run cannot be resumed; "
                + "free some disk space and start it again"
        case let .unreadable(path, underlying):
            "cannot read the checkpoint \(path): \(underlying)"
        }
    }
}
