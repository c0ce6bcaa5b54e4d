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

/// The one rule: however a step is cut into micro-batches — by plan or by an OOM in the
/// middle — the optimiser step is the one a single big batch would take. Both sides run in
/// float64, so "the same step" means the same to rounding, on any CPU.
@Suite(.serialized) struct StepExecutorTests {
    /// Eight images of `resolution` px with fixed labels.
    static func batch(resolution: Int) throws -> StepBatch {
        let images = try (Tensor.rand([8, 3, resolution, resolution], generator: Generator(seed: 10)) * 255).to(dtype: .uint8)
        return StepBatch(images: images, labels: try Tensor([0, 1, 2, 3, 3, 2, 1, 0] as [Int64]), sampleIndices: Array(0..<8))
    }

    /// 64 px for the arithmetic; 160 px where memory matters: there activations outweigh the
    /// gradients that accumulation holds, so smaller micro-batches really do need less.
    let small: StepBatch
    let large: StepBatch

    init() throws {
        small = try Self.batch(resolution: 64)
        large = try Self.batch(resolution: 160)
    }

    /// A fresh, identically initialised step; BatchNorm in eval mode so that the micro-batch
    /// size cannot change the normalisation (the statistics of a batch depend on its size).
    func makeStep(precision: Precision = .fp64) throws -> TrainingStep {
        let model = try ResNet(.resnet18, classCount: 4, generator: Generator(seed: 11))
        model.eval()
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)
        return try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: precision)
    }

    func parameters(
        of batch: StepBatch, after microBatch: Int, steps: Int = 2, budget: Int? = nil
    ) throws -> (values: [[Double]], outcomes: [StepOutcome]) {
        let step = try makeStep()
        let memory = try MemoryController.fixed(
            microBatch: microBatch, resolution: batch.resolution, effectiveBatch: batch.count, budgetBytes: budget ?? .max, step: step)
        let executor = StepExecutor(step: step, memory: memory)
        try Device.cpu.setMemoryBudget(bytes: budget)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        var outcomes: [StepOutcome] = []
        for _ in 0..<steps { outcomes.append(try executor.run(batch)) }
        try Device.cpu.setMemoryBudget(bytes: nil)
        return (try step.model.namedParameters().map { try $0.tensor.array(of: Double.self) }, outcomes)
    }

    func expectSameParameters(_ a: [[Double]], _ b: [[Double]], sourceLocation: SourceLocation = #_sourceLocation) {
        expectClose(a, b, within: .exactInFloat64, sourceLocation: sourceLocation)
    }

    @Test func microBatchingDoesNotChangeTheStep() throws {
        let whole = try parameters(of: small, after: 8)
        #expect(whole.outcomes.allSatisfy { $0.accumulation == 1 })
        let halves = try parameters(of: small, after: 4)
        #expect(halves.outcomes.allSatisfy { $0.accumulation == 2 && $0.microBatch == 4 })
        let singles = try parameters(of: small, after: 1)
        #expect(singles.outcomes.allSatisfy { $0.accumulation == 8 })
        expectSameParameters(halves.values, whole.values)
        expectSameParameters(singles.values, whole.values)
        let uneven = try parameters(of: small, after: 3)  // 3, 3, 2
        #expect(uneven.outcomes.first?.accumulation == 3)
        expectSameParameters(uneven.values, whole.values)
    }

    @Test func anOutOfMemoryErrorMidStepCostsARetryNotASample() throws {
        // The peaks of real steps at 4 and 8, and a budget between them. (Budgets count every
        // live byte, so the probe's own model must be gone before the squeezed run.)
        let (four, eight) = try { () throws -> (Int, Int) in
            let probe = try MemoryProbe(step: makeStep(), warmUpResolution: 64)
            defer { try? probe.finish() }
            return (
                try #require(try probe.peak(batch: 4, resolution: 160, gradientsPresent: true)),
                try #require(try probe.peak(batch: 8, resolution: 160)))
        }()
        try #require(eight > four)
        let budget = (four + eight) / 2

        let reference = try parameters(of: large, after: 8)
        let squeezed = try parameters(of: large, after: 8, budget: budget)
        // The first step may still fit at 8 (no momentum buffers yet); the second cannot.
        let first = try #require(squeezed.outcomes.first { !$0.recoveries.isEmpty })
        #expect(squeezed.outcomes.last?.microBatch ?? 8 <= 4)
        #expect(first.recoveries.first?.failedMicroBatch == 8)
        #expect(first.microBatch <= 4 && first.samples == 8)
        #expect(first.recoveries.first?.requestedBytes != nil)
        expectSameParameters(squeezed.values, reference.values)
    }

    @Test func notEvenOneSampleFittingIsAClearError() throws {
        let step = try makeStep()
        let memory = try MemoryController.fixed(microBatch: 2, resolution: large.resolution, effectiveBatch: large.count, step: step)
        let executor = StepExecutor(step: step, memory: memory)
        let live = try Device.cpu.memoryStatistics().liveBytes
        try Device.cpu.setMemoryBudget(bytes: live + (1 << 20))
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let before = try step.model.namedParameters().map { try $0.tensor.bytes() }
        do {
            _ = try executor.run(large)
            Issue.record("a step ran in 1 MiB")
        } catch let error as OutOfMemoryAtOneSample {
            #expect(error.description.contains("160×160"))
        }
        try Device.cpu.setMemoryBudget(bytes: nil)
        // The failed attempts changed nothing.
        #expect(try step.model.namedParameters().map { try $0.tensor.bytes() } == before)
        #expect(step.model.namedParameters().allSatisfy { $0.tensor.grad == nil })
    }
}
