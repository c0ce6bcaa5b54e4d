public import Foundation
public import HeadroomExecution
import HeadroomFormats
public import HeadroomMemory
import HeadroomModels
import Torch
import TorchNN
import TorchOptim

/// Where training stands, saved beside the weights: enough to resume at the exact sample.
public struct CheckpointState: Codable, Sendable {
    public var configuration: TrainingConfiguration
    public var classNames: [String]
    /// The epoch in progress (0-based) and how many of its optimiser steps are done.
    public var epoch: Int
    public var stepInEpoch: Int
    public var globalStep: Int
    public var samplesSeen: Int
    public var optimizerSteps: Int
    public var lossScaler: LossScaler?
    /// The micro-batch policy per resolution, as it was (shrunk sizes included).
    public var policies: [String: MicroBatchPolicy]
    public var plans: [ResolutionPlan]
    public var bestTop1: Double?
    public var bestEpoch: Int?
    /// Samples that failed to decode, excluded from later epochs.
    public var badSamples: [Int]
    /// The samples the current epoch's order left out (those known bad when it began).
    public var excludedThisEpoch: [Int]
    public var savedAt: Double
    public var headroomVersion: String
    /// The training set the run started on: how many samples, and a fingerprint of their
    /// paths and labels (``LabeledSamples/fingerprint``). Nil in checkpoints from before they
    /// were recorded.
    public var trainingSamples: Int?
    public var trainingFingerprint: String?

    /// Reads a state file, also one an earlier Headroom wrote: configuration keys it lacks
    /// take today's defaults (an option added since is off or at its default), so a run
    /// survives an upgrade between two sessions.
    public static func decoded(from data: Data) throws -> CheckpointState {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw CheckpointStateError(problems: ["it is not valid JSON (\(data.count) bytes: truncated or damaged?)"])
        }
        guard var object = parsed as? [String: Any] else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the state is not a JSON object"))
        }
        if let stored = object["configuration"] as? [String: Any] {
            let defaults = try JSONEncoder().encode(TrainingConfiguration(trainPath: "", validationPath: ""))
            let base = try JSONSerialization.jsonObject(with: defaults) as? [String: Any] ?? [:]
            object["configuration"] = base.merging(stored) { _, saved in saved }
        }
        if var policies = object["policies"] as? [String: [String: Any]] {
            // Saved before a policy recorded its limit, it held the budget alone: read with no
            // headroom, which no run's limit has, so that resolution is planned again.
            for (resolution, var policy) in policies where policy["limit"] == nil {
                policy["limit"] = ["budgetBytes": policy["budgetBytes"] ?? 0, "headroom": 0]
                policies[resolution] = policy
            }
            object["policies"] = policies
        }
        let state: CheckpointState
        do {
            state = try JSONDecoder().decode(CheckpointState.self, from: JSONSerialization.data(withJSONObject: object))
        } catch let DecodingError.keyNotFound(key, _) {
            throw CheckpointStateError(problems: ["it lacks \(key.stringValue)"])
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw CheckpointStateError(problems: ["\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"])
        } catch {
            throw CheckpointStateError(problems: ["\(error)"])
        }
        let problems = state.problems()
        guard problems.isEmpty else { throw CheckpointStateError(problems: problems) }
        return state
    }

    /// Values no run could have saved (a hand-edited or damaged file): each would crash or
    /// mislead the resumed run.
    func problems() -> [String] {
        var problems: [String] = []
        for (name, value) in [("epoch", epoch), ("stepInEpoch", stepInEpoch), ("globalStep", globalStep),
                              ("samplesSeen", samplesSeen), ("optimizerSteps", optimizerSteps)] where value < 0 {
            problems.append("\(name) is \(value), below 0")
        }
        if stepInEpoch > globalStep { problems.append("stepInEpoch \(stepInEpoch) is beyond globalStep \(globalStep)") }
        if let count = trainingSamples {
            let outside = (badSamples + excludedThisEpoch).filter { !(0..<count).contains($0) }
            if !outside.isEmpty { problems.append("sample indices \(outside.prefix(5)) lie outside the \(count) training samples") }
            if stepInEpoch * configuration.batchSize > count {
                problems.append("stepInEpoch \(stepInEpoch) of \(configuration.batchSize) is past the \(count) training samples")
            }
        }
        return problems
    }
}

/// A state.json that cannot be what a run saved.
public struct CheckpointStateError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}

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
    public func save(step: TrainingStep, state: CheckpointState, isBest: Bool) throws -> URL {
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
            try ModelFile.write(step.model.stateDict(), metadata: metadata, to: temporary.appendingPathComponent("model.safetensors"))
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
