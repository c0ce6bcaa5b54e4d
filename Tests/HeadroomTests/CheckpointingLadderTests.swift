import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels
@testable import HeadroomData
@testable import HeadroomExecution
@testable import HeadroomMemory
@testable import HeadroomTraining

/// The planner's second rung: activation checkpointing when the micro-batch cannot shrink
/// further, or should not.
@Suite(.serialized) struct CheckpointingLadderTests {
    func makeStep() throws -> TrainingStep {
        let model = try ResNet(.resnet18, classCount: 4, generator: Generator(seed: 1))
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1, momentum: 0.9)
        return try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .fp32)
    }

    /// True peaks of accumulating micro-batches of `batches` with `segments` checkpointed.
    func peaks(_ step: TrainingStep, _ segments: Set<ResNet.Segment>, batches: [Int], resolution: Int) throws -> [Int: Int] {
        let probe = try MemoryProbe(step: step, warmUpResolution: resolution)
        defer { try? probe.finish() }
        var result: [Int: Int] = [:]
        for batch in batches {
            let peak: Int = try #require(try probe.peak(batch: batch, resolution: resolution, gradientsPresent: true, recomputing: segments), "\(batch) samples ran out of memory with no budget")
            result[batch] = peak
        }
        return result
    }

    @Test func oneSampleThatOnlyFitsCheckpointedIsPlannedCheckpointed() throws {
        let step = try makeStep()
        let plain = try peaks(step, [], batches: [1], resolution: 192)[1]!
        let all = try peaks(step, Set(ResNet.Segment.allCases), batches: [1], resolution: 192)[1]!
        try #require(all < plain)
        let budget = (plain + all) / 2
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }

        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 4, headroom: 0)
        planner.settings.checkpointing = .off
        #expect(throws: PlanningError.self) { try planner.plan(resolutions: [192], step: step) }

        planner.settings.checkpointing = .auto
        let plan = try #require(try planner.plan(resolutions: [192], step: step).first)
        #expect(plan.microBatch >= 1)
        #expect(!plan.checkpointedSegments.isEmpty)
        #expect(plan.uncheckpointedMicroBatch == 0)  // why: not one sample fitted without
        #expect(plan.verifiedPeakBytes <= budget)
        #expect(plan.recomputeOverhead > 0 && plan.recomputeOverhead <= 1.0 / 3)
    }

    @Test func belowTheFloorTheLadderIsClimbedAndAboveItNot() throws {
        let step = try makeStep()
        let plain = try peaks(step, [], batches: [4], resolution: 160)[4]!
        let all = try peaks(step, Set(ResNet.Segment.allCases), batches: [4], resolution: 160)[4]!
        try #require(all < plain)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }

        // Room for 4 samples only when checkpointed: below the floor of 4 without it.
        var planner = BatchPlanner(budgetBytes: all, effectiveBatch: 8, headroom: 0)
        planner.settings.checkpointing = .auto
        planner.settings.minimumMicroBatch = 4
        let climbed = try #require(try planner.plan(resolutions: [160], step: step).first)
        #expect(climbed.microBatch >= 4)
        #expect(!climbed.checkpointedSegments.isEmpty)
        #expect((1..<4).contains(climbed.uncheckpointedMicroBatch ?? 0))

        // With room for 4 plain samples, nothing is recomputed.
        planner.limit = MemoryLimit(budgetBytes: plain, headroom: 0)
        let plainPlan = try #require(try planner.plan(resolutions: [160], step: step).first)
        #expect(plainPlan.microBatch >= 4)
        #expect(plainPlan.checkpointedSegments.isEmpty)
        #expect(plainPlan.recomputeOverhead == 0)
        #expect(plainPlan.uncheckpointedMicroBatch == nil)
    }

    /// In the middle of training, the same rung: one sample running out of memory makes the
    /// step recompute more instead of failing, when the run's checkpointing is `auto`.
    @Test func aStepThatCannotShrinkFurtherRecomputesInstead() throws {
        let step = try makeStep()
        // One step first, so the optimiser's momentum exists as the probes assume.
        try step.accumulate(images: Tensor.zeros([1, 3, 32, 32], dtype: .uint8), labels: Tensor([0] as [Int64]), weight: 1)
        try step.step()
        let plain = try peaks(step, [], batches: [1], resolution: 320)[1]!
        let all = try peaks(step, Set(ResNet.Segment.allCases), batches: [1], resolution: 320)[1]!
        try #require(all < plain)
        let budget = (plain + all) / 2
        let images = try (Tensor.rand([2, 3, 320, 320], generator: Generator(seed: 5)) * 255).to(dtype: .uint8)
        let batch = StepBatch(images: images, labels: try Tensor([0, 1] as [Int64]), sampleIndices: [0, 1])
        try Device.cpu.setMemoryBudget(bytes: budget)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }

        let fixed = try MemoryController.fixed(microBatch: 1, resolution: 320, effectiveBatch: 2, budgetBytes: budget, step: step)
        #expect(throws: OutOfMemoryAtOneSample.self) { try StepExecutor(step: step, memory: fixed).run(batch) }
        let memory = try MemoryController.fixed(
            microBatch: 1, resolution: 320, effectiveBatch: 2, budgetBytes: budget, checkpointing: .auto, step: step)
        let outcome = try StepExecutor(step: step, memory: memory).run(batch)
        #expect(outcome.samples == 2)
        let climbed = try #require(outcome.recoveries.last?.checkpointedSegments)
        // The plan keeps the rung, so the next steps (and a resume) run with it.
        #expect(Set(climbed) == memory.recomputed(at: 320))
        #expect(memory.plans[320]?.recomputeOverhead ?? 0 > 0)
        #expect(outcome.recoveries.allSatisfy { $0.newMicroBatch == 1 })
    }

    @Test func parsesTheOption() {
        #expect(ActivationCheckpointing(parsing: "auto") == .auto)
        #expect(ActivationCheckpointing(parsing: "off") == .off)
        #expect(ActivationCheckpointing(parsing: "on") == .segments(Set(ResNet.Segment.allCases)))
        #expect(ActivationCheckpointing(parsing: "layer1, Layer2") == .segments([.layer1, .layer2]))
        for bad in ["", "layer5", "stem,", "yes"] { #expect(ActivationCheckpointing(parsing: bad) == nil, "\(bad)") }
        #expect(ActivationCheckpointing.segments([.layer2, .stem]).description == "stem,layer2")
        #expect(ActivationCheckpointing.ladder.first == [.stem])
        #expect(ActivationCheckpointing.ladder.last == Set(ResNet.Segment.allCases))
    }
}
