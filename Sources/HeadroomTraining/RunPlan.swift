import Foundation
public import HeadroomData
public import HeadroomExecution
public import HeadroomMemory
import HeadroomModels
import Torch

/// What `headroom plan` reports: the memory plan of every resolution of a configuration,
/// measured with real steps, without training or writing anything.
public struct RunPlan: Sendable, Encodable {
    public var device: String
    public var precision: Precision
    public var budgetBytes: Int
    public var effectiveBatch: Int
    public var headroom: Double
    public var resolutions: [ResolutionPlan]
    /// The loader's host memory at the largest resolution.
    public var loader: LoaderMemory

    /// Plans `configuration` on its device, as training plans each stage when it starts.
    /// `onProbedStep`: told of every step measured, as it ends.
    public static func make(for configuration: TrainingConfiguration, onProbedStep: ((ProbedStep) -> Void)? = nil) throws -> RunPlan {
        let setup = try RunSetup(configuration)
        let memory = setup.memoryController(effectiveBatch: configuration.batchSize)
        memory.onProbedStep = onProbedStep
        let plans = try configuration.trainingResolutions.map { try memory.plan(for: $0, step: setup.step).plan }
        let loader = setup.loaderMemory
        return RunPlan(
            device: setup.device.description, precision: setup.precision, budgetBytes: setup.limit.budgetBytes,
            effectiveBatch: configuration.batchSize, headroom: setup.limit.headroom, resolutions: plans, loader: loader)
    }

    /// The peak of one real training step with micro-batches of `batch` at the configured
    /// resolution, under the budget (nil when it runs out of memory): what the planner
    /// measures, for benchmarks that search the true largest micro-batch.
    public static func measure(_ configuration: TrainingConfiguration, batch: Int) throws -> Int? {
        let setup = try RunSetup(configuration)
        var segments: Set<ResNet.Segment> = []
        if case .segments(let chosen) = configuration.activationCheckpointing { segments = chosen }
        let probe = try MemoryProbe(step: setup.step, warmUpResolution: configuration.imageSize, budgetBytes: setup.limit.budgetBytes)
        defer { try? probe.finish() }
        let prefetch = setup.device.isCUDA ? 0 : BatchLoader.queuedBytes(
            count: 1, resolution: configuration.imageSize, format: setup.input, type: setup.step.inputType)
        let decoding = setup.device.isCUDA ? 0 : setup.loaderMemory.decodingBytes
        return try SteadyStatePeaks(probe).peak(
            batch: batch, resolution: configuration.imageSize, gradientsPresent: batch < configuration.batchSize,
            recomputing: segments, streaming: nil
        ).map { $0 + batch * prefetch + decoding }
    }

    enum CodingKeys: String, CodingKey {
        case device, precision, budgetBytes = "budget_bytes", effectiveBatch = "effective_batch", headroom, resolutions, loader
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device, forKey: .device)
        try container.encode(precision, forKey: .precision)
        try container.encode(budgetBytes, forKey: .budgetBytes)
        try container.encode(effectiveBatch, forKey: .effectiveBatch)
        try container.encode(headroom, forKey: .headroom)
        try container.encode(resolutions.map(PlanRow.init), forKey: .resolutions)
        try container.encode(loader, forKey: .loader)
    }

    /// One resolution in the documented `--json` schema (snake_case, as metrics.jsonl).
    struct PlanRow: Encodable {
        var resolution: Int
        var micro_batch: Int
        var accumulation: Int
        var micro_batch_sizes: [Int]
        var predicted_peak_bytes: Int
        var verified_peak_bytes: Int
        var budget_bytes: Int
        var fixed_bytes: Int
        var bytes_per_sample: Int
        var activation_checkpointing: [String]
        var streaming: ResNet.Streaming?
        var recompute_overhead: Double
        var recompute_overhead_frozen_bn: Double?
        var uncheckpointed_micro_batch: Int?
        var measurements: [Measurement]

        struct Measurement: Encodable {
            var batch: Int
            var peak_bytes: Int?
            var gradients_held: Bool
        }

        init(_ plan: ResolutionPlan) {
            resolution = plan.resolution
            micro_batch = plan.microBatch
            accumulation = plan.accumulation.steps
            micro_batch_sizes = plan.accumulation.sizes
            predicted_peak_bytes = plan.predictedPeakBytes
            verified_peak_bytes = plan.verifiedPeakBytes
            budget_bytes = plan.budgetBytes
            fixed_bytes = Int(plan.model.fixedBytes)
            bytes_per_sample = Int(plan.model.bytesPerSample)
            activation_checkpointing = plan.checkpointedSegments.map(\.rawValue)
            streaming = plan.streaming
            recompute_overhead = plan.recomputeOverhead
            recompute_overhead_frozen_bn = plan.frozenBatchNormOverhead
            uncheckpointed_micro_batch = plan.uncheckpointedMicroBatch
            measurements = plan.measurements.map { Measurement(batch: $0.batch, peak_bytes: $0.peakBytes, gradients_held: $0.gradientsHeld) }
        }
    }
}
