import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels
@testable import HeadroomExecution
@testable import HeadroomMemory

@Suite struct MemoryBudgetTests {
    @Test func parsesFractionsAndSizes() {
        #expect(MemoryBudget(parsing: "80%") == .fraction(0.8))
        #expect(MemoryBudget(parsing: "0.5") == .fraction(0.5))
        #expect(MemoryBudget(parsing: "6GiB") == .bytes(6 << 30))
        #expect(MemoryBudget(parsing: "512MiB") == .bytes(512 << 20))
        #expect(MemoryBudget(parsing: "1.5GB") == .bytes(1_500_000_000))
        #expect(MemoryBudget(parsing: "2048") == .bytes(2048))
        for bad in ["", "0%", "120%", "-1GiB", "lots", "GiB", "0", "1e30GiB", "1e19", "nan", "infGiB"] {
            #expect(MemoryBudget(parsing: bad) == nil, "\(bad) parsed")
        }
    }

    @Test func resolvesAgainstTheDevice() throws {
        #expect(try MemoryBudget.bytes(1000).resolve(on: .cpu) == 1000)
        #expect(try MemoryBudget.capacity(of: .cpu) > 0)
        // A fraction of a capacity read once (MemAvailable moves between two reads).
        #expect(MemoryBudget.fraction(0.5).resolve(capacity: 8 << 30) == 4 << 30)
        #expect(MemoryBudget.bytes(1000).resolve(capacity: 8 << 30) == 1000)
    }
}

@Suite struct AccumulationPlanTests {
    @Test func longSplitsAreDescribedByRuns() {
        #expect(AccumulationPlan.describe([8, 8]) == "8+8")
        #expect(AccumulationPlan.describe([6, 5, 5, 5]) == "6+5+5+5")
        #expect(AccumulationPlan.describe(AccumulationPlan(effectiveBatch: 100_000, microBatch: 280).sizes) == "118×280 + 240×279")
    }

    @Test func sizesDifferByAtMostOneAndSumToTheEffectiveBatch() {
        let plan = AccumulationPlan(effectiveBatch: 64, microBatch: 28)
        #expect(plan.steps == 3)
        #expect(plan.sizes == [22, 21, 21])
        #expect(AccumulationPlan(effectiveBatch: 8, microBatch: 8).sizes == [8])
        #expect(AccumulationPlan(effectiveBatch: 8, microBatch: 20).sizes == [8])
        #expect(AccumulationPlan(effectiveBatch: 7, microBatch: 1).sizes == Array(repeating: 1, count: 7))
        for effective in 1...40 {
            for micro in 1...effective {
                let sizes = AccumulationPlan(effectiveBatch: effective, microBatch: micro).sizes
                #expect(sizes.reduce(0, +) == effective)
                #expect(sizes.max()! <= micro)
                #expect(sizes.max()! - sizes.min()! <= 1)
            }
        }
    }
}

@Suite struct MemoryModelTests {
    @Test func fitsALineAndInvertsIt() {
        let model = MemoryModel(fitting: (2, 1200), (4, 1400))
        #expect(model.fixedBytes == 1000)
        #expect(model.bytesPerSample == 100)
        #expect(model.predictedPeak(batch: 10) == 2000)
        #expect(model.largestBatch(within: 2050) == 10)
        #expect(model.largestBatch(within: 1050) == 0)
        // A failure at 10 within 1900 bytes means each sample costs more than 90.
        let corrected = model.correctedForFailure(batch: 10, budget: 1900)
        #expect(corrected.bytesPerSample == 100)
        let stricter = model.correctedForFailure(batch: 5, budget: 1400)
        #expect(stricter.predictedPeak(batch: 5) > 1400)
    }
}

/// The probe and the planner on a real (small) ResNet on the CPU.
@Suite(.serialized) struct PlannerTests {
    func makeStep(classes: Int = 4) throws -> TrainingStep {
        let model = try ResNet(.resnet18, classCount: classes, generator: Generator(seed: 1))
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1, momentum: 0.9)
        return try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .fp32)
    }

    func everything(_ step: TrainingStep) throws -> [[UInt8]] {
        try step.model.stateDict().map { try $0.tensor.bytes() } + step.optimizer.namedState().map { try $0.tensor.bytes() }
    }

    @Test func probingLeavesWeightsStatisticsAndOptimiserStateBitIdentical() throws {
        let step = try makeStep()
        // A real step first, so momentum buffers and moved BN statistics exist.
        let images = try (Tensor.rand([2, 3, 32, 32], generator: Generator(seed: 2)) * 255).to(dtype: .uint8)
        try step.accumulate(images: images, labels: Tensor([0, 3] as [Int64]), weight: 1)
        try step.step()
        let before = try everything(step)
        let stepsBefore = step.optimizer.stepCount
        let live = try Device.cpu.memoryStatistics().liveBytes

        let probe = try MemoryProbe(step: step, warmUpResolution: 32)
        let peak = try #require(try probe.peak(batch: 2, resolution: 32))
        #expect(peak > 0)
        try probe.finish()

        #expect(try everything(step) == before)
        #expect(step.optimizer.stepCount == stepsBefore)
        #expect(step.model.namedParameters().allSatisfy { $0.tensor.grad == nil })
        #expect(try Device.cpu.memoryStatistics().liveBytes == live)
    }

    /// A data-parallel step's gradients live in the reducer's buckets, allocated before
    /// planning, and backward adds into them. The probe attaches them as the step does: it
    /// counted them twice (the buckets, and fresh gradients on top), and an accumulating step
    /// holds nothing more than one micro-batch. (DistributedTrainingTests checks the probe's
    /// peak against the peaks two real workers reach.)
    @Test func withGradientBucketsTheProbeCountsTheGradientsOnce() throws {
        let measured = try withLocalRanks(1) { group -> [Int] in
            let step = try self.makeStep()
            let probe = try MemoryProbe(step: step, warmUpResolution: 32)
            _ = try probe.peak(batch: 2, resolution: 32)  // the steady state: a shape's first step may make primitives
            let withoutBuckets = try #require(try probe.peak(batch: 2, resolution: 32))
            let reducer = try GradientReducer(group: group.sibling(named: "test/gradients"), parameters: step.optimizer.parameters)
            keepForTheProcess(reducer)
            let bucketsUnused = try #require(try probe.peak(batch: 2, resolution: 32))
            step.gradientReducer = reducer
            let bucketsUsed = try #require(try probe.peak(batch: 2, resolution: 32))
            let accumulating = try #require(try probe.peak(batch: 2, resolution: 32, gradientsPresent: true))
            let accumulationBytes = probe.accumulationBytes
            try probe.finish()
            return [withoutBuckets, bucketsUnused, bucketsUsed, accumulating, probe.gradientBytes, accumulationBytes]
        }[0]
        let (withoutBuckets, bucketsUnused, bucketsUsed, accumulating, gradients) = (measured[0], measured[1], measured[2], measured[3], measured[4])
        // Unused, the buckets are a second copy of the gradients on top of the step's own.
        #expect(abs(bucketsUnused - withoutBuckets - gradients) < gradients / 10, "\(measured)")
        // Used, backward adds into them: no whole second copy (each parameter's fresh gradient
        // is still made, then added and freed, as in PyTorch's accumulation).
        #expect(bucketsUsed < bucketsUnused - gradients / 4, "\(measured)")
        #expect(abs(accumulating - bucketsUsed) < gradients / 10, "\(measured)")
        #expect(measured[5] == 0)
    }

    @Test func withABudgetForKSamplesThePlannerPicksKOrKMinusOne() throws {
        let step = try makeStep()
        // The true peaks of each micro-batch size for an effective batch of 8, measured with
        // no budget (sizes below 8 accumulate, so they hold the gradients).
        // Each the second of two steps: the steady state the planner reads (SteadyStatePeaks).
        let probe = try MemoryProbe(step: step, warmUpResolution: 32)
        var peaks: [Int: Int] = [:]
        for batch in 1...8 {
            _ = try probe.peak(batch: batch, resolution: 32, gradientsPresent: batch < 8)
            guard let peak = try probe.peak(batch: batch, resolution: 32, gradientsPresent: batch < 8) else {
                Issue.record("a step of \(batch) ran out of memory without a budget")
                return
            }
            peaks[batch] = peak
        }
        try probe.finish()
        // A budget of exactly peak(5): k is the largest size whose true peak fits it.
        let k = try #require(peaks.filter { $0.value <= peaks[5]! }.keys.max())
        var planner = BatchPlanner(budgetBytes: peaks[5]!, effectiveBatch: 8, headroom: 0)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let plan = try #require(try planner.plan(resolutions: [32], step: step).first)
        #expect(plan.microBatch == k || plan.microBatch == k - 1, "chose \(plan.microBatch); peaks \(peaks.sorted { $0.key < $1.key })")
        #expect(plan.measurements.first { $0.batch == plan.microBatch }?.peakBytes != nil)
        #expect(plan.accumulation.sizes.reduce(0, +) == 8)
        #expect(plan.verifiedPeakBytes <= plan.budgetBytes)
        // The prediction is close to what the step measured.
        #expect(abs(Double(plan.predictedPeakBytes - plan.verifiedPeakBytes)) <= 0.1 * Double(plan.verifiedPeakBytes))
        // With 10% headroom the same k fits a budget 1/0.9 as large.
        planner.limit = MemoryLimit(budgetBytes: Int(Double(peaks[5]!) / 0.9) + 1, headroom: 0.1)
        let withHeadroom = try #require(try planner.plan(resolutions: [32], step: step).first)
        #expect(withHeadroom.microBatch == k || withHeadroom.microBatch == k - 1)
    }

    @Test func theLoadersDecodingMemoryCountsAgainstACPUBudget() throws {
        let step = try makeStep()
        // The same plan with and without 7 MiB of decoding: every measured step's peak, the one
        // compared with the budget, carries it.
        let decoding = 7 << 20
        var planner = BatchPlanner(budgetBytes: 4 << 30, effectiveBatch: 4, headroom: 0)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let without = try #require(try planner.plan(resolutions: [32], step: step).first)
        planner.settings.decodingBytes = decoding
        let with = try #require(try planner.plan(resolutions: [32], step: step).first)
        func shape(_ m: ResolutionPlan.Measurement) -> String { "\(m.batch)\(m.gradientsHeld ? "+grads" : "")" }
        let peaksWithout = Dictionary(without.measurements.compactMap { m in m.peakBytes.map { (shape(m), $0) } }, uniquingKeysWith: max)
        var compared = 0
        for measurement in with.measurements {
            guard let peak = measurement.peakBytes, let other = peaksWithout[shape(measurement)] else { continue }
            #expect(abs(peak - decoding - other) <= 1 << 16, "batch \(measurement.batch): \(peak) against \(other)")
            compared += 1
        }
        #expect(compared >= 2)
        // A budget just below the first plan's peak plus the decoding memory no longer takes
        // that plan. What it takes instead depends on the machine's kernels: a smaller,
        // accumulating micro-batch holds the gradients, which at 32 px can cost more than the
        // samples it saves (on AVX-512 kernels it does), so a planning error is also true.
        let tight = without.verifiedPeakBytes + decoding - (1 << 20)
        planner.limit = MemoryLimit(budgetBytes: tight, headroom: 0)
        do {
            let tighter = try #require(try planner.plan(resolutions: [32], step: step).first)
            #expect(tighter.verifiedPeakBytes <= tight)
            #expect(tighter.microBatch < without.microBatch)
        } catch is PlanningError {}
    }

    @Test func anImpossibleBudgetSaysWhatWouldHelp() throws {
        let step = try makeStep()
        let live = try Device.cpu.memoryStatistics().liveBytes
        let planner = BatchPlanner(budgetBytes: live + (1 << 20), effectiveBatch: 4)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        do {
            _ = try planner.plan(resolutions: [64], step: step)
            Issue.record("planning fit one sample of ResNet-18 into 1 MiB")
        } catch let error as PlanningError {
            #expect(error.resolution == 64)
            #expect(error.description.contains("64×64"))
            #expect(error.description.contains("budget"))
            #expect(error.suggestions.contains { $0.contains("bf16") })
        }
    }
}

@Suite struct PrecisionTests {
    @Test func autoPicksBFloat16OnlyWhereItIsNative() {
        #expect(Precision.automatic(for: .cuda(0)) == .bf16)
        #expect(Precision.automatic(for: .cpu, cpuFlags: "flags : fpu avx2 fma avx512f avx512_bf16 avx512_vnni") == .bf16)
        #expect(Precision.automatic(for: .cpu, cpuFlags: "flags : fpu amx_tile amx_bf16 avx512f") == .bf16)
        #expect(Precision.automatic(for: .cpu, cpuFlags: "flags : fpu avx2 fma avx512f avx512bw") == .fp32)
        #expect(Precision.automatic(for: .cpu, cpuFlags: "") == .fp32)
        // doctor's line names the choice and the flag behind it.
        let native = Precision.automaticChoice(for: .cpu, cpuFlags: "flags : fpu avx2 avx512f avx512_bf16")
        #expect(native.hasPrefix("bf16") && native.contains("avx512_bf16") && native.contains("inference stays fp32"))
        #expect(Precision.automaticChoice(for: .cpu, cpuFlags: "flags : fpu avx2 fma").hasPrefix("fp32"))
    }

    @Test func channelsLastWhereItIsFaster() {
        #expect(MemoryFormat.automatic(for: .cpu, precision: .fp32, cpuFlags: "flags : fpu avx2 fma avx512f avx512bw") == .channelsLast)
        #expect(MemoryFormat.automatic(for: .cpu, precision: .bf16, cpuFlags: "flags : fpu avx512f avx512_bf16") == .channelsLast)
        #expect(MemoryFormat.automatic(for: .cpu, precision: .fp32, cpuFlags: "flags : fpu sse4_2 avx2 fma") == .contiguous)
        #expect(MemoryFormat.automatic(for: .cuda(0), precision: .bf16) == .channelsLast)
        #expect(MemoryFormat.automatic(for: .cuda(0), precision: .fp32) == .contiguous)
        #expect(MemoryFormat.resolve(channelsLast: false, device: .cpu, precision: .fp32) == .contiguous)
        #expect(MemoryFormat.resolve(channelsLast: true, device: .cpu, precision: .fp32) == .channelsLast)
    }
}
