public import Foundation
public import HeadroomExecution
import HeadroomFormats
public import HeadroomInference
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
    /// How the run read and normalised its images (nil in checkpoints from before: 8-bit RGB, ImageNet's).
    public var input: ModelInput?
    /// `--model-ema`: the average's updates so far (its weights are `ema.safetensors`).
    public var averageUpdates: Int?

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
