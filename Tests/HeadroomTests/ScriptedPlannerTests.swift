import Testing
import Torch
@testable import HeadroomModels
@testable import HeadroomExecution
@testable import HeadroomMemory

/// A training step whose peaks the test chooses: the planner's decisions tested apart from
/// how any machine's kernels spend memory. A step fails, as under the budgeted allocator,
/// when its peak passes the budget.
final class ScriptedStep: StepPeakMeasuring {
    static let mebibyte = 1 << 20
    let model: ResNet
    let device = Device.cpu
    var precision = Precision.fp32
    var accumulationBytes: Int
    var budgetBytes: Int
    /// The steady-state peak of a step of `batch` samples, before held gradients.
    var steadyPeak: (_ batch: Int) -> Int
    /// Bytes the first step at each shape adds (primitives made, weights reordered, caches).
    var oneTimeBytes = 0
    private var shapesSeen: Set<String> = []
    /// The steady-state peak of a streamed step (`steadyPeak` where nil).
    var streamedPeak: ((_ batch: Int, _ resolution: Int, _ streaming: ResNet.Streaming) -> Int)?
    /// Every step run: (batch, gradients held).
    private(set) var steps: [(batch: Int, gradientsHeld: Bool)] = []
    /// Every streamed step run: (resolution, streaming, whether it fitted).
    private(set) var streamedSteps: [(resolution: Int, streaming: ResNet.Streaming, fitted: Bool)] = []
    /// What every unstreamed step recomputed.
    private(set) var recomputed: [Set<ResNet.Segment>] = []

    /// `model`: only its layout is read (the compute a rung costs), so many steps can share one.
    init(budgetBytes: Int, accumulationBytes: Int = 0, model: ResNet? = nil, steadyPeak: @escaping (Int) -> Int) throws {
        self.model = try model ?? ResNet(.resnet18, classCount: 2, generator: Generator(seed: 1))
        self.budgetBytes = budgetBytes
        self.accumulationBytes = accumulationBytes
        self.steadyPeak = steadyPeak
    }

    /// What training sees at `batch`, step after step.
    func trainingPeak(batch: Int, gradientsHeld: Bool) -> Int {
        steadyPeak(batch) + (gradientsHeld ? accumulationBytes : 0)
    }

    func peak(
        batch: Int, resolution: Int, gradientsPresent: Bool, recomputing segments: Set<ResNet.Segment>,
        streaming: ResNet.Streaming?
    ) throws(TorchError) -> Int? {
        steps.append((batch, gradientsPresent))
        let shape = "\(batch) \(resolution) \(gradientsPresent) \(segments.map(\.rawValue).sorted()) \(String(describing: streaming))"
        let steady = streaming.flatMap { (streaming) in streamedPeak?(batch, resolution, streaming) } ?? steadyPeak(batch)
        let peak = steady + (gradientsPresent ? accumulationBytes : 0) + (shapesSeen.insert(shape).inserted ? oneTimeBytes : 0)
        if let streaming { streamedSteps.append((resolution, streaming, peak <= budgetBytes)) } else { recomputed.append(segments) }
        return peak <= budgetBytes ? peak : nil
    }

    func floorBytes(resolution: Int) throws(TorchError) -> Int { 0 }
}

@Suite struct ScriptedPlannerTests {
    static let mebibyte = ScriptedStep.mebibyte

    func planner(budget: Int, effectiveBatch: Int) -> BatchPlanner {
        BatchPlanner(budgetBytes: budget, effectiveBatch: effectiveBatch, headroom: 0)
    }

    /// The first step at every shape carries 30 MiB that later steps do not. Read as they
    /// come, the probes would fit a line 30 MiB too high and stop at 15 samples; read in the
    /// steady state, 16 (260 MiB) fits a 280 MiB budget, and every recorded peak is training's.
    @Test func oneTimeAllocationsDoNotDecideThePlan() throws {
        let m = Self.mebibyte
        let step = try ScriptedStep(budgetBytes: 280 * m) { 100 * m + $0 * 10 * m }
        step.oneTimeBytes = 30 * m
        let plan = try #require(try planner(budget: 280 * m, effectiveBatch: 16).plan(resolutions: [64], measuring: step).first)
        #expect(plan.microBatch == 16)
        #expect(plan.verifiedPeakBytes == 260 * m)
        for measurement in plan.measurements {
            #expect(measurement.peakBytes == step.trainingPeak(batch: measurement.batch, gradientsHeld: measurement.gradientsHeld))
        }
    }

    /// Where repeated steps agree, each size is measured once after the first pair: the rule
    /// costs one step a session, not twice the steps.
    @Test func settledKernelsAreMeasuredOnceASize() throws {
        let m = Self.mebibyte
        let step = try ScriptedStep(budgetBytes: 280 * m) { 100 * m + $0 * 10 * m }
        let plan = try #require(try planner(budget: 280 * m, effectiveBatch: 16).plan(resolutions: [64], measuring: step).first)
        #expect(plan.microBatch == 16)
        #expect(step.steps.count == plan.measurements.count + 1)
    }

    /// A large step that runs out of memory before the peaks are shown steady is not repeated
    /// where a small pair of steps agrees (it can take seconds to fail); where the pair
    /// disagrees (one-time bytes), it is, and the pair is not run again.
    @Test func aFailedLargeStepIsRepeatedOnlyWhereASmallPairDisagrees() throws {
        let m = Self.mebibyte
        let tooLarge = ResNet.Streaming(through: .layer2, bands: 8)
        for oneTime in [0, 30 * m] {
            let step = try ScriptedStep(budgetBytes: 300 * m) { 100 * m + $0 * 10 * m }
            step.oneTimeBytes = oneTime
            step.streamedPeak = { (_, _, _) in 400 * m }
            let peaks = SteadyStatePeaks(step)
            for _ in 0..<2 {
                #expect(try peaks.peak(batch: 1, resolution: 4096, gradientsPresent: false, recomputing: [], streaming: tooLarge) == nil)
            }
            let small = step.recomputed.count  // the pair: plain steps
            #expect(small == 2)
            #expect(step.streamedSteps.count == (oneTime == 0 ? 2 : 4), "\(step.streamedSteps)")
            #expect(peaks.isSettled == (oneTime == 0))
        }
    }

    /// Accumulating micro-batches hold the gradients (45 MiB here); the whole batch of 16 in
    /// one step holds none before its backward. Under 170 MiB no accumulating step fits, but
    /// 16 samples at once (162 MiB) do: the plan is 16 × 1, never "not one sample fits".
    @Test func theWholeBatchIsFoundWhereNoAccumulatingStepFits() throws {
        let m = Self.mebibyte
        let step = try ScriptedStep(budgetBytes: 170 * m, accumulationBytes: 45 * m) { 130 * m + $0 * 2 * m }
        var planner = planner(budget: 170 * m, effectiveBatch: 16)
        planner.settings.checkpointing = .auto
        let plan = try #require(try planner.plan(resolutions: [64], measuring: step).first)
        #expect(plan.microBatch == 16)
        #expect(plan.accumulation.steps == 1)
        #expect(plan.checkpointedSegments.isEmpty)
        #expect(plan.verifiedPeakBytes == 162 * m)
        // The probes that held the gradients are recorded as such.
        #expect(plan.measurements.contains { $0.gradientsHeld && $0.peakBytes == nil })
    }

    /// At 32 px layer4's map is 1×1: a micro-batch of 1 would give its BatchNorm one value per
    /// channel. The planner never chooses it, even where the budget fits one sample only.
    @Test func noMicroBatchLeavesABatchNormOneValuePerChannel() throws {
        let m = Self.mebibyte
        let step = try ScriptedStep(budgetBytes: 125 * m) { 100 * m + $0 * 20 * m }
        #expect(throws: PlanningError.self) { try planner(budget: 125 * m, effectiveBatch: 16).plan(resolutions: [32], measuring: step) }
        #expect(step.steps.allSatisfy { $0.batch >= 2 }, "a step of 1 at 32 px was measured")
        let roomy = try ScriptedStep(budgetBytes: 150 * m) { 100 * m + $0 * 20 * m }
        let plan = try #require(try planner(budget: 150 * m, effectiveBatch: 16).plan(resolutions: [32], measuring: roomy).first)
        #expect(plan.microBatch == 2)
        // At 64 px (2×2 maps) one sample is a plan.
        let wider = try ScriptedStep(budgetBytes: 125 * m) { 100 * m + $0 * 20 * m }
        #expect(try planner(budget: 125 * m, effectiveBatch: 16).plan(resolutions: [64], measuring: wider).first?.microBatch == 1)
    }

    /// --streaming on puts the run on streaming's rungs without trying a plain step: the plan
    /// says nothing of why it climbed (it said "not one sample fitted without it").
    @Test func aForcedRungGivesNoReasonForClimbing() throws {
        let m = Self.mebibyte
        let step = try ScriptedStep(budgetBytes: 400 * m) { 100 * m + $0 * 10 * m }
        var planner = planner(budget: 400 * m, effectiveBatch: 16)
        planner.settings.streaming = .on
        let plan = try #require(try planner.plan(resolutions: [64], measuring: step).first)
        #expect(plan.streaming != nil && plan.uncheckpointedMicroBatch == nil)
        planner.settings.streaming = .auto
        planner.settings.checkpointing = .segments([.stem])
        #expect(try planner.plan(resolutions: [64], measuring: step).first?.uncheckpointedMicroBatch == nil)
    }

    /// A planning error suggests only what is not in force: no bf16 to a bf16 run, no
    /// checkpointing to a run that already climbs that ladder.
    @Test func anImpossiblePlanSuggestsOnlyWhatIsNotInForce() throws {
        let m = Self.mebibyte
        let step = try ScriptedStep(budgetBytes: 100 * m) { 200 * m + $0 * m }
        func suggestions(_ precision: Precision, _ checkpointing: ActivationCheckpointing) throws -> [String] {
            step.precision = precision
            var planner = planner(budget: 100 * m, effectiveBatch: 4)
            planner.settings.checkpointing = checkpointing
            planner.settings.streaming = .off
            do {
                _ = try planner.plan(resolutions: [64], measuring: step)
            } catch let error as PlanningError {
                return error.suggestions
            }
            Issue.record("a step that always needs 200 MiB was planned into 100 MiB")
            return []
        }
        let fp32Off = try suggestions(.fp32, .off)
        #expect(fp32Off.contains { $0.contains("--precision bf16") })
        #expect(fp32Off.contains { $0.contains("--activation-checkpointing auto") })
        #expect(fp32Off.contains { $0.contains("--streaming auto") })
        let bf16Auto = try suggestions(.bf16, .auto)
        #expect(!bf16Auto.contains { $0.contains("--precision") })
        #expect(!bf16Auto.contains { $0.contains("--activation-checkpointing") })
    }

    /// Curves no straight line follows: convex, concave, a workspace that jumps at a size, a
    /// small batch dearer than a larger one, with and without one-time bytes and held
    /// gradients, under budgets across the range. Whatever the curve, a plan's chosen step was
    /// measured as training runs it and fits; and a budget that some measured training step
    /// fitted never yields "not one sample".
    @Test func everyPlanIsAMeasuredFitOnCurvesThatAreNotLines() throws {
        let m = Self.mebibyte
        let curves: [(name: String, peak: (Int) -> Int)] = [
            ("line", { 100 * m + $0 * 8 * m }),
            ("convex", { 100 * m + $0 * $0 * m }),
            ("concave", { 100 * m + Int(40 * Double(m) * Double($0).squareRoot()) }),
            ("workspace at 8", { 100 * m + $0 * 4 * m + ($0 >= 8 ? 30 * m : 0) }),
            ("small batches dearer", { $0 < 4 ? 150 * m : 110 * m + $0 * 2 * m }),
        ]
        let network = try ResNet(.resnet18, classCount: 2, generator: Generator(seed: 1))
        for curve in curves {
            for oneTime in [0, 20 * m] {
                for gradients in [0, 45 * m] {
                    for budget in stride(from: 110 * m, through: 260 * m, by: 15 * m) {
                        let step = try ScriptedStep(
                            budgetBytes: budget, accumulationBytes: gradients, model: network, steadyPeak: curve.peak)
                        step.oneTimeBytes = oneTime
                        let context = "\(curve.name), one-time \(oneTime / m) MiB, gradients \(gradients / m) MiB, budget \(budget / m) MiB"
                        do {
                            let plan = try #require(try planner(budget: budget, effectiveBatch: 16).plan(resolutions: [64], measuring: step).first)
                            let accumulating = plan.microBatch < 16
                            #expect(plan.verifiedPeakBytes <= budget, "\(context)")
                            #expect(
                                plan.verifiedPeakBytes == step.trainingPeak(batch: plan.microBatch, gradientsHeld: accumulating),
                                "\(context): the chosen step's peak is training's")
                            #expect(plan.accumulation.sizes.reduce(0, +) == 16)
                        } catch is PlanningError {
                            let fitted = step.steps.filter { $0.gradientsHeld == ($0.batch < 16) }
                                .filter { step.trainingPeak(batch: $0.batch, gradientsHeld: $0.gradientsHeld) <= budget }
                            #expect(fitted.isEmpty, "\(context): 'not one sample' after \(fitted.map(\.batch)) fitted")
                            // Where steps without gradients grow with the batch, the whole batch
                            // fitting means a plan (held gradients alone can make the small ones fail).
                            let growing = (1..<16).allSatisfy { curve.peak($0) <= curve.peak($0 + 1) }
                            #expect(!growing || step.trainingPeak(batch: 16, gradientsHeld: false) > budget, "\(context)")
                        }
                    }
                }
            }
        }
    }
}
