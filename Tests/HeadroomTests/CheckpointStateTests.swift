import Foundation
import Testing
@testable import HeadroomMemory
@testable import HeadroomTraining

/// A state file written by an earlier Headroom still resumes.
@Suite struct CheckpointStateTests {
    func state() -> CheckpointState {
        var configuration = TrainingConfiguration(trainPath: "data/train", validationPath: "data/val")
        configuration.batchSize = 48
        configuration.activationCheckpointing = .segments([.stem])
        configuration.minimumMicroBatch = 4
        let plan = ResolutionPlan(
            resolution: 224, microBatch: 12, accumulation: AccumulationPlan(effectiveBatch: 48, microBatch: 12),
            predictedPeakBytes: 1 << 30, verifiedPeakBytes: 1 << 30, budgetBytes: 2 << 30,
            model: MemoryModel(fixedBytes: 268_435_456, bytesPerSample: 67_108_864), checkpointedSegments: [.stem],
            recomputeOverhead: 0.02, uncheckpointedMicroBatch: 5, measurements: [.init(batch: 12, peakBytes: 1 << 30)])
        return CheckpointState(
            configuration: configuration, classNames: ["a", "b"], epoch: 1, stepInEpoch: 2, globalStep: 9, samplesSeen: 432,
            optimizerSteps: 9, lossScaler: nil,
            policies: ["224": MicroBatchPolicy(plannedBatch: 12, effectiveBatch: 48, model: nil, limit: MemoryLimit(budgetBytes: 2 << 30))],
            plans: [plan], bestTop1: 0.5, bestEpoch: 0, badSamples: [3], excludedThisEpoch: [], savedAt: 1, headroomVersion: "0.1")
    }

    /// `last` pointing at a checkpoint that is gone (deleted by hand, a disk that lost it)
    /// does not hide an intact earlier one: resume finds the newest whole checkpoint.
    @Test func aDanglingLastLinkFallsBackToTheNewestWholeCheckpoint() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-dangling-\(UUID())")
        defer { try? FileManager.default.removeItem(at: run) }
        let checkpoints = Checkpointer(runDirectory: run)
        func write(step: Int, whole: Bool) throws {
            var saved = state()
            saved.globalStep = step
            let folder = checkpoints.directory.appendingPathComponent(String(format: "step-%08d", step))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONEncoder().encode(saved).write(to: folder.appendingPathComponent("state.json"))
            try Data().write(to: folder.appendingPathComponent("model.safetensors"))
            if whole { try Data().write(to: folder.appendingPathComponent("optimizer.safetensors")) }
        }
        try write(step: 3, whole: true)
        try write(step: 6, whole: false)  // a torn one: newer, but not whole
        try FileManager.default.createSymbolicLink(
            atPath: checkpoints.directory.appendingPathComponent("last.json").path, withDestinationPath: "step-00000009/state.json")
        let latest = try #require(try checkpoints.latest())
        #expect(latest.state.globalStep == 3)
        #expect(latest.directory.lastPathComponent == "step-00000003")
    }

    @Test func theCurrentFormatRoundTrips() throws {
        let decoded = try CheckpointState.decoded(from: JSONEncoder().encode(state()))
        #expect(decoded.configuration == state().configuration)
        #expect(decoded.plans == state().plans)
        #expect(decoded.samplesSeen == 432)
    }

    @Test func keysAddedSinceTakeTheirDefaults() throws {
        // As written before activation checkpointing existed: neither the options nor the plan fields.
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(state())) as? [String: Any])
        var configuration = try #require(object["configuration"] as? [String: Any])
        configuration["activationCheckpointing"] = nil
        configuration["minimumMicroBatch"] = nil
        object["configuration"] = configuration
        var plan = try #require((object["plans"] as? [[String: Any]])?.first)
        plan["checkpointedSegments"] = nil
        plan["recomputeOverhead"] = nil
        plan["uncheckpointedMicroBatch"] = nil
        object["plans"] = [plan]

        let decoded = try CheckpointState.decoded(from: JSONSerialization.data(withJSONObject: object))
        let defaults = TrainingConfiguration(trainPath: "", validationPath: "")
        #expect(decoded.configuration.activationCheckpointing == defaults.activationCheckpointing)
        #expect(decoded.configuration.minimumMicroBatch == defaults.minimumMicroBatch)
        #expect(decoded.configuration.batchSize == 48)  // what was saved stays
        #expect(decoded.configuration.trainPath == "data/train")
        #expect(decoded.plans[0].checkpointedSegments.isEmpty)
        #expect(decoded.plans[0].recomputeOverhead == 0)
        #expect(decoded.plans[0].microBatch == 12)
    }

    /// A policy saved before it recorded its limit held the budget alone: it reads back, and a
    /// resumed run plans that resolution again rather than trust a limit it cannot know.
    @Test func anOldPolicyIsReadAndPlannedAgain() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(state())) as? [String: Any])
        var policy = try #require((object["policies"] as? [String: [String: Any]])?["224"])
        policy["limit"] = nil
        policy["budgetBytes"] = 2 << 30
        object["policies"] = ["224": policy]
        let decoded = try CheckpointState.decoded(from: JSONSerialization.data(withJSONObject: object))
        let read = try #require(decoded.policies["224"])
        #expect(read.limit == MemoryLimit(budgetBytes: 2 << 30, headroom: 0))
        #expect(read.plannedBatch == 12)
        let memory = MemoryController(device: .cpu, limit: MemoryLimit(budgetBytes: 2 << 30), effectiveBatch: 48)
        #expect(memory.restore(plans: decoded.plans, policies: [224: read]) == [224])
        // Saved with its limit, under the same budget and headroom: kept.
        let current = try CheckpointState.decoded(from: JSONEncoder().encode(state()))
        #expect(memory.restore(plans: current.plans, policies: [224: try #require(current.policies["224"])]).isEmpty)
        #expect(memory.microBatch(at: 224) == 12)
    }
}
