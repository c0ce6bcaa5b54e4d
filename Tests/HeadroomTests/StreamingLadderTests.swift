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

/// The ladder's top rung: streaming, when not one sample fits with every segment checkpointed.
@Suite(.serialized) struct StreamingLadderTests {
    static let resolution = 640
    static let everySegment = Set(ResNet.Segment.allCases)
    static let firstRung = ResNet.Streaming(through: .layer1, bands: 8)

    func makeStep() throws -> TrainingStep {
        let model = try ResNet(.resnet18, classCount: 4, generator: Generator(seed: 1))
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1, momentum: 0.9)
        let step = try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .fp32)
        // One step first, so the optimiser's momentum exists as the probes assume.
        try step.accumulate(images: Tensor.zeros([1, 3, 32, 32], dtype: .uint8), labels: Tensor([0] as [Int64]), weight: 1)
        try step.step()
        return step
    }

    /// The true peak of one accumulating sample on the checkpointing ladder's lowest rung
    /// (fewer segments can hold less: layer4's recompute can outweigh its activations) and
    /// streamed, and a budget between the two.
    func budgetBetween(_ step: TrainingStep) throws -> (checkpointed: Int, streamed: Int, budget: Int) {
        let probe = try MemoryProbe(step: step, warmUpResolution: Self.resolution)
        defer { try? probe.finish() }
        var checkpointed = Int.max
        for segments in [[]] + ActivationCheckpointing.ladder {
            checkpointed = min(checkpointed, try #require(try probe.peak(
                batch: 1, resolution: Self.resolution, gradientsPresent: true, recomputing: segments)))
        }
        let streamed = try #require(try probe.peak(
            batch: 1, resolution: Self.resolution, gradientsPresent: true, recomputing: Self.everySegment, streaming: Self.firstRung))
        try #require(streamed < checkpointed, "streaming holds \(streamed) bytes, checkpointing \(checkpointed)")
        return (checkpointed, streamed, (checkpointed + streamed) / 2)
    }

    @Test func oneSampleThatOnlyFitsStreamedIsPlannedStreamed() throws {
        let step = try makeStep()
        let (_, _, budget) = try budgetBetween(step)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 2, headroom: 0)
        planner.settings.checkpointing = .auto
        planner.settings.streaming = .off
        #expect(throws: PlanningError.self) { try planner.plan(resolutions: [Self.resolution], step: step) }

        planner.settings.streaming = .auto
        let plan = try #require(try planner.plan(resolutions: [Self.resolution], step: step).first)
        // The shallowest depth, in bands the budget allows (its stage outputs held where they fit).
        let rung = try #require(plan.streaming)
        #expect(rung.through == .layer1 && StreamingChoice.bandCounts(inputRows: Self.resolution).contains(rung.bands))
        #expect(Set(plan.checkpointedSegments) == Self.everySegment)
        #expect(plan.microBatch >= 1)
        #expect(plan.verifiedPeakBytes <= budget)
        #expect(plan.uncheckpointedMicroBatch == 0)
        // Dearer than checkpointing every segment (a third of a step), as predicted.
        #expect(plan.recomputeOverhead > 1.0 / 3)
    }

    /// In the middle of training: the step climbs the checkpointing ladder, then streams.
    @Test func aSampleThatDoesNotFitCheckpointedIsStreamedInstead() throws {
        let step = try makeStep()
        let (_, _, budget) = try budgetBetween(step)
        let images = try (Tensor.rand([2, 3, Self.resolution, Self.resolution], generator: Generator(seed: 5)) * 255).to(dtype: .uint8)
        let batch = StepBatch(images: images, labels: try Tensor([0, 1] as [Int64]), sampleIndices: [0, 1])
        try Device.cpu.setMemoryBudget(bytes: budget)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let memory = try MemoryController.fixed(
            microBatch: 1, resolution: Self.resolution, effectiveBatch: 2, budgetBytes: budget, checkpointing: .auto,
            streaming: .auto, step: step)
        let outcome = try StepExecutor(step: step, memory: memory).run(batch)
        #expect(outcome.samples == 2)
        #expect(outcome.recoveries.last?.streaming == Self.firstRung)
        #expect(memory.streaming(at: Self.resolution) == Self.firstRung)
        #expect(memory.recomputed(at: Self.resolution) == Self.everySegment)
    }

    /// Streaming through the stem alone is the banded stem, and costs what it does; each
    /// deeper rung costs more.
    @Test func predictedComputeFollowsTheDepth() throws {
        let model = try ResNet(.resnet18)
        let all = Self.everySegment
        let stem = model.recomputeOverhead(of: all, streaming: .init(through: .stem, bands: 8), resolution: 224)
        #expect(model.usesBandedStem(inputRows: 224, segments: all))
        // The banded stem is streaming through the stem; its price leaves out the one row of
        // halo each band's max-pool reads (0.4 % of a step here: conv1's rows cost 2.7 times their
        // multiply-adds and carry a BatchNorm each, ``ComputeWeights``), streaming's counts it.
        let banded = model.recomputeOverhead(of: all, resolution: 224)
        #expect(stem > banded && stem - banded < 0.005, "streamed \(stem), banded \(banded)")
        let depths = [ResNet.Segment.stem, .layer1, .layer2, .layer3, .layer4].map {
            model.recomputeOverhead(of: all, streaming: .init(through: $0, bands: 8), resolution: 224)
        }
        #expect(zip(depths, depths.dropFirst()).allSatisfy { $0 < $1 }, "\(depths)")
        // Held stage outputs: each pass recomputes from its stage's input, so deeper streaming
        // costs less than without them, and holding changes nothing where only the stem streams.
        let held = [ResNet.Segment.stem, .layer1, .layer2, .layer3, .layer4].map {
            model.recomputeOverhead(of: all, streaming: .init(through: $0, bands: 8, holdsStages: true), resolution: 224)
        }
        #expect(held[0] == depths[0])
        #expect(zip(held, depths).dropFirst().allSatisfy { $0 < $1 }, "\(held) against \(depths)")
        // Held block outputs: each pass recomputes from its block's input, less again.
        let blocks = [ResNet.Segment.stem, .layer1, .layer2, .layer3, .layer4].map {
            model.recomputeOverhead(of: all, streaming: .init(through: $0, bands: 8, holdsBlocks: true), resolution: 224)
        }
        #expect(blocks[0] == depths[0])
        #expect(zip(blocks, held).dropFirst().allSatisfy { $0 < $1 }, "\(blocks) against \(held)")
        // Holding from a later stage saves less than holding every stage, more than nothing.
        let fromLayer = [ResNet.Segment.layer2, .layer3].map {
            model.recomputeOverhead(of: all, streaming: .init(through: .layer3, bands: 8, heldFrom: $0), resolution: 224)
        }
        #expect(held[3] < fromLayer[0] && fromLayer[0] < fromLayer[1] && fromLayer[1] < depths[3], "\(fromLayer)")
    }

    /// Held stage outputs are the stem's and each streamed stage's but the last, float32, with a gradient each.
    @Test func heldStageBytesCountTheHeldMaps() throws {
        let model = try ResNet(.resnet18)
        #expect(model.heldStageBytes(.init(through: .layer2, bands: 8), resolution: 224) == 0)
        #expect(model.heldStageBytes(.init(through: .stem, bands: 8, holdsStages: true), resolution: 224) == 0)
        // 224 px: the stem's output and layer1's are 64 × 56 × 56 each.
        #expect(model.heldStageBytes(.init(through: .layer2, bands: 8, holdsStages: true), resolution: 224) == 2 * 4 * 2 * 64 * 56 * 56)
        // Through layer3, layer2's 128 × 28 × 28 too.
        #expect(model.heldStageBytes(.init(through: .layer3, bands: 8, holdsStages: true), resolution: 224) == 2 * 4 * (2 * 64 * 56 * 56 + 128 * 28 * 28))
        // Held blocks through layer2: the stem's, layer1's two blocks' and layer2's first block's.
        #expect(model.heldStageBytes(.init(through: .layer2, bands: 8, holdsBlocks: true), resolution: 224) == 2 * 4 * (3 * 64 * 56 * 56 + 128 * 28 * 28))
        // From layer2's input, through layer3: layer1's and layer2's outputs; from layer3's, layer2's alone.
        #expect(model.heldStageBytes(.init(through: .layer3, bands: 8, heldFrom: .layer2), resolution: 224) == 2 * 4 * (64 * 56 * 56 + 128 * 28 * 28))
        #expect(model.heldStageBytes(.init(through: .layer3, bands: 8, heldFrom: .layer3), resolution: 224) == 2 * 4 * 128 * 28 * 28)
        #expect(model.heldStageBytes(.init(through: .layer2, bands: 8, heldFrom: .layer3), resolution: 224) == 0)
    }

    /// What the plan prices `--freeze-bn` at is what a model with frozen BatchNorm costs: the
    /// bands' recompute alone, a fraction of the statistics passes'. The plan offers it only
    /// where streaming runs statistics passes.
    @Test func freezingBatchNormIsPricedAsAFrozenModelCosts() throws {
        let model = try ResNet(.resnet18)
        let streaming = ResNet.Streaming(through: .layer3, bands: 32)
        func plan(streaming: ResNet.Streaming?) -> ResolutionPlan {
            var plan = ResolutionPlan(
                resolution: 8192, microBatch: 1, accumulation: AccumulationPlan(effectiveBatch: 1, microBatch: 1),
                predictedPeakBytes: 0, verifiedPeakBytes: 0, budgetBytes: 0, model: MemoryModel(fixedBytes: 0, bytesPerSample: 0),
                checkpointedSegments: ResNet.Segment.allCases, streaming: streaming, measurements: [])
            plan.predictCompute(of: model)
            return plan
        }
        let training = plan(streaming: streaming)
        #expect(plan(streaming: nil).frozenBatchNormOverhead == nil)
        model.freezeBatchNorm()
        let frozen = plan(streaming: streaming)
        #expect(frozen.frozenBatchNormOverhead == nil)  // nothing left to offer
        let priced = try #require(training.frozenBatchNormOverhead)
        #expect(abs(priced - frozen.recomputeOverhead) < 1e-12)
        #expect(priced < training.recomputeOverhead / 5, "frozen \(priced), training \(training.recomputeOverhead)")
    }

    /// Small images keep the fixed counts; tall ones get bands of a bounded height, so a
    /// band's memory follows the width, not the area.
    @Test func bandCountsFollowTheImageHeight() {
        #expect(StreamingChoice.auto.ladder(inputRows: 640).map(\.bands) == [8, 8, 16, 16, 32])
        #expect(StreamingChoice.auto.ladder(inputRows: 8192).map(\.bands) == [16, 16, 32, 32, 64])
        #expect(StreamingChoice.auto.ladder(inputRows: 4100).map(\.bands) == [9, 9, 17, 17, 33])
        #expect(StreamingChoice.through(.layer2).ladder(inputRows: 8192).map(\.bands) == [16, 32, 64])
        #expect(StreamingChoice.auto.ladder(inputRows: 8192).map(\.through) == [.layer1, .layer2, .layer2, .layer3, .layer3])
    }

    @Test func parsesTheOption() {
        #expect(StreamingChoice(parsing: "auto") == .auto)
        #expect(StreamingChoice(parsing: "OFF") == .off)
        #expect(StreamingChoice(parsing: "on") == .on)
        #expect(StreamingChoice(parsing: "layer2") == .through(.layer2))
        for bad in ["", "layer5", "yes", "layer1,layer2"] { #expect(StreamingChoice(parsing: bad) == nil, "\(bad)") }
        #expect(StreamingChoice.through(.layer3).ladder(inputRows: 640).map(\.through) == [.layer3, .layer3, .layer3])
        #expect(StreamingChoice.off.ladder(inputRows: 640).isEmpty)
    }
}
