import Testing
import Torch
@testable import HeadroomModels
@testable import HeadroomExecution
@testable import HeadroomMemory

/// Streaming's plan, decided from steps at a smaller size and verified by one at the full
/// size: the fewest bands the budget allows, then the most held maps the room left allows.
@Suite struct StreamedPlanningTests {
    static let m = ScriptedStep.mebibyte
    static let resolution = 4096

    /// A streamed step as a machine might spend it: 100 MiB per sample whatever the size, 8
    /// bytes per pixel held whole (the streamed output, the stages after it), 128 per pixel
    /// shared among the bands, and the held maps. Nothing fits unstreamed.
    func step(budget: Int) throws -> ScriptedStep {
        let step = try ScriptedStep(budgetBytes: budget) { _ in 1 << 50 }
        let model = step.model
        step.streamedPeak = { (batch, resolution, streaming) in
            let area = Double(resolution * resolution)
            let sample = 100 * Self.m + Int(area * (8 + 128 / Double(streaming.bands))) + model.heldStageBytes(streaming, resolution: resolution)
            return batch * sample
        }
        return step
    }

    func plan(budget: Int, _ step: ScriptedStep) throws -> ResolutionPlan {
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 4, headroom: 0)
        planner.settings.streaming = .through(.layer2)
        return try #require(try planner.plan(resolutions: [Self.resolution], measuring: step).first)
    }

    /// Planning's cost in full-size streamed steps: each step weighs its pixels.
    func cost(_ step: ScriptedStep) -> Double {
        step.streamedSteps.reduce(0) { $0 + Double($1.resolution * $1.resolution) / Double(Self.resolution * Self.resolution) }
    }

    /// With room for layer2's input held (512 MiB with its gradient) but not the stem's too,
    /// the plan holds layer2's input, in the tallest bands measured, after one full-size step.
    @Test func theRoomLeftHoldsTheDeepestMaps() throws {
        let budget = 1400 * Self.m
        let step = try step(budget: budget)
        let plan = try plan(budget: budget, step)
        #expect(plan.streaming == ResNet.Streaming(through: .layer2, bands: 4, heldFrom: .layer2))
        #expect(plan.verifiedPeakBytes <= budget)
        #expect(plan.microBatch == 1)
        #expect(step.streamedSteps.filter { $0.resolution == Self.resolution }.count == 1)
        #expect(cost(step) <= 2, "planning cost \(cost(step)) streamed steps: \(step.streamedSteps)")
        // The held rung is predicted cheaper than the plain one, and the plan says so.
        let plain = step.model.recomputeOverhead(of: Set(ResNet.Segment.allCases), streaming: .init(through: .layer2, bands: 4), resolution: Self.resolution)
        #expect(plan.recomputeOverhead < plain)
    }

    /// A smaller budget: no map held, and the fewest bands that fit (600 MiB: 100 MiB, 128 MiB
    /// held whole, 2 GiB shared among the bands: six).
    @Test func theBandsAreAsTallAsTheBudgetAllows() throws {
        let budget = 600 * Self.m
        let step = try step(budget: budget)
        let plan = try plan(budget: budget, step)
        #expect(plan.streaming == ResNet.Streaming(through: .layer2, bands: 6))
        #expect(step.streamedSteps.filter { $0.resolution == Self.resolution }.map(\.fitted) == [true])
        #expect(cost(step) <= 2)
        // Five bands would not have fitted: six is the fewest.
        #expect(step.streamedPeak!(1, Self.resolution, .init(through: .layer2, bands: 5)) > budget)
    }

    /// `auto`: where not one sample fits unrecomputed, the checkpointing ladder's top is tried
    /// next; where it fits none either, no rung between is probed (each would cost full-size
    /// steps that cannot fit), and streaming is planned.
    @Test func aLadderWhoseTopFitsNothingIsNotClimbed() throws {
        let budget = 600 * Self.m
        let step = try step(budget: budget)
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 4, headroom: 0)
        planner.settings.checkpointing = .auto
        planner.settings.streaming = .auto
        let plan = try #require(try planner.plan(resolutions: [Self.resolution], measuring: step).first)
        #expect(plan.streaming != nil)
        #expect(Set(step.recomputed) == [[], Set(ResNet.Segment.allCases)], "\(step.recomputed)")
    }

    /// A machine whose peak is the larger of two phases, as real streamed steps are: the
    /// bands' (8 bytes per pixel held, 128 shared among the bands) and one without bands (24
    /// per pixel: the streamed output, its gradient, the stages after it).
    func twoPhaseStep(budget: Int) throws -> ScriptedStep {
        let step = try ScriptedStep(budgetBytes: budget) { _ in 1 << 50 }
        let model = step.model
        step.streamedPeak = { (batch, resolution, streaming) in
            let area = Double(resolution * resolution)
            let phase = max(24, 8 + 128 / Double(streaming.bands))
            return batch * (100 * Self.m + Int(area * phase) + model.heldStageBytes(streaming, resolution: resolution))
        }
        return step
    }

    /// Under the bandless phase (20 bytes a pixel of room): no count of bands fits, and the
    /// most bands at half the size show it, so no full-size step is run. (A line through
    /// two counts alone, 4 and 8 bands, would predict 11 bands to fit.)
    @Test func aBandlessPhaseOverTheBudgetCostsNoFullSizeStep() throws {
        let budget = 100 * Self.m + 20 * Self.resolution * Self.resolution
        let step = try twoPhaseStep(budget: budget)
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 4, headroom: 0)
        planner.settings.streaming = .through(.layer2)
        #expect(throws: PlanningError.self) { try planner.plan(resolutions: [Self.resolution], measuring: step) }
        #expect(step.streamedSteps.allSatisfy { $0.resolution < Self.resolution }, "\(step.streamedSteps)")
    }

    /// Room for 28 bytes a pixel: the plan fits at its one full-size step.
    @Test func aTwoPhasePeakIsPlannedInOneFullSizeStep() throws {
        let budget = 100 * Self.m + 28 * Self.resolution * Self.resolution
        let step = try twoPhaseStep(budget: budget)
        let plan = try plan(budget: budget, step)
        #expect(plan.verifiedPeakBytes <= budget)
        #expect(step.streamedSteps.filter { $0.resolution == Self.resolution }.map(\.fitted) == [true], "\(step.streamedSteps)")
        #expect(cost(step) <= 2)
    }

    /// Streamed through layer1 the bandless phase is 40 bytes a pixel, through layer2 24: under
    /// 28 a pixel, layer1 is ruled out by its most bands at half and a quarter of the size
    /// (its tallest bands never measured), and layer2 is planned in one full-size step.
    @Test func aDepthTheMostBandsCannotFitCostsTwoSmallSteps() throws {
        let budget = 100 * Self.m + 28 * Self.resolution * Self.resolution
        let step = try ScriptedStep(budgetBytes: budget) { _ in 1 << 50 }
        let model = step.model
        step.streamedPeak = { (batch, resolution, streaming) in
            let area = Double(resolution * resolution)
            let phase = max(streaming.through == .layer1 ? 40 : 24, 8 + 128 / Double(streaming.bands))
            return batch * (100 * Self.m + Int(area * phase) + model.heldStageBytes(streaming, resolution: resolution))
        }
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 4, headroom: 0)
        planner.settings.streaming = .on
        let plan = try #require(try planner.plan(resolutions: [Self.resolution], measuring: step).first)
        #expect(plan.streaming?.through == .layer2)
        let layer1 = step.streamedSteps.filter { $0.streaming.through == .layer1 }
        let most = StreamingChoice.bandCounts(inputRows: Self.resolution).upperBound
        #expect(layer1.allSatisfy { $0.streaming.bands == most && $0.resolution < Self.resolution }, "\(layer1)")
        #expect(Set(layer1.map(\.resolution)).count == 2, "\(layer1)")
        #expect(step.streamedSteps.filter { $0.resolution == Self.resolution }.map(\.fitted) == [true], "\(step.streamedSteps)")
        #expect(cost(step) <= 2)
    }

    /// Where not even the shortest bands fit at half the size, no full-size step is run: the
    /// error comes from the small steps alone.
    @Test func aHopelessBudgetCostsNoFullSizeStep() throws {
        let budget = 200 * Self.m
        let step = try step(budget: budget)
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: 4, headroom: 0)
        planner.settings.streaming = .through(.layer2)
        #expect(throws: PlanningError.self) { try planner.plan(resolutions: [Self.resolution], measuring: step) }
        #expect(step.streamedSteps.allSatisfy { $0.resolution < Self.resolution })
    }
}
