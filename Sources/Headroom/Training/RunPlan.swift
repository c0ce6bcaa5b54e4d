import Foundation
import Torch
import TorchNN
import TorchOptim

/// What `headroom plan` reports: the memory plan of every resolution of a configuration,
/// measured with real steps, without training or writing anything.
public struct RunPlan: Sendable, Encodable {
    public var device: String
    public var precision: Precision
    public var budgetBytes: Int
    public var effectiveBatch: Int
    public var headroom: Double
    public var resolutions: [ResolutionPlan]

    /// Plans `configuration` on its device.
    public static func make(for configuration: TrainingConfiguration) throws -> RunPlan {
        let (step, budget) = try trainingStep(for: configuration)
        var planner = BatchPlanner(budgetBytes: budget, effectiveBatch: configuration.batchSize, headroom: configuration.memoryHeadroom)
        planner.prefetchBytesPerSample = { 3 * BatchLoader.batchBytes(count: 1, resolution: $0) }
        planner.checkpointing = configuration.activationCheckpointing
        planner.minimumMicroBatch = configuration.minimumMicroBatch
        let plans = try planner.plan(resolutions: configuration.trainingResolutions, step: step)
        return RunPlan(
            device: step.device.description, precision: step.precision, budgetBytes: budget, effectiveBatch: configuration.batchSize,
            headroom: configuration.memoryHeadroom, resolutions: plans)
    }

    /// The peak of one real training step with micro-batches of `batch` at the configured
    /// resolution, under the budget (nil when it runs out of memory): what the planner
    /// measures, for benchmarks that search the true largest micro-batch.
    public static func measure(_ configuration: TrainingConfiguration, batch: Int) throws -> Int? {
        let (step, budget) = try trainingStep(for: configuration)
        if case .segments(let segments) = configuration.activationCheckpointing { step.model.checkpointedSegments = segments }
        let probe = try MemoryProbe(step: step, warmUpResolution: configuration.imageSize, budgetBytes: budget)
        defer { try? probe.finish() }
        let prefetch = step.device.isCUDA ? 0 : 3 * BatchLoader.batchBytes(count: 1, resolution: configuration.imageSize)
        return try probe.peak(batch: batch, resolution: configuration.imageSize, gradientsPresent: batch < configuration.batchSize)
            .map { $0 + batch * prefetch }
    }

    /// The model, optimiser and step the configuration trains with, and its budget in bytes.
    static func trainingStep(for configuration: TrainingConfiguration) throws -> (TrainingStep, Int) {
        let problems = configuration.problems()
        guard problems.isEmpty else { throw TrainingSetupError(problems: problems) }
        let (train, _) = try Trainer.scanData(configuration)
        let device = try Trainer.resolveDevice(configuration.device)
        if let threads = configuration.threads { try Torch.setThreadCount(threads) }
        let model = try Trainer.buildModel(configuration, classCount: train.classes.count, device: device, observer: { _ in })
        let precision = Trainer.resolvePrecision(configuration.precision, device: device)
        let memoryFormat = Trainer.resolveMemoryFormat(configuration.channelsLast, device: device, precision: precision)
        try model.setMemoryFormat(memoryFormat)
        let optimizer = try Trainer.buildOptimizer(configuration, parameters: model.namedParameters().map(\.tensor).filter(\.requiresGradient))
        // The options that change a step's memory are the training run's (what is measured is what runs).
        let step = try TrainingStep(
            model: model, optimizer: optimizer, device: device, precision: precision, memoryFormat: memoryFormat,
            labelSmoothing: configuration.labelSmoothing, gradientClipNorm: configuration.gradientClipNorm)
        let budget = try Trainer.resolveBudget(configuration, device: device)
        return (step, budget)
    }

    enum CodingKeys: String, CodingKey {
        case device, precision, budgetBytes = "budget_bytes", effectiveBatch = "effective_batch", headroom, resolutions
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(device, forKey: .device)
        try container.encode(precision, forKey: .precision)
        try container.encode(budgetBytes, forKey: .budgetBytes)
        try container.encode(effectiveBatch, forKey: .effectiveBatch)
        try container.encode(headroom, forKey: .headroom)
        try container.encode(resolutions.map(PlanRow.init), forKey: .resolutions)
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
        var recompute_overhead: Double
        var uncheckpointed_micro_batch: Int?
        var measurements: [Measurement]

        struct Measurement: Encodable {
            var batch: Int
            var peak_bytes: Int?
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
            recompute_overhead = plan.recomputeOverhead
            uncheckpointed_micro_batch = plan.uncheckpointedMicroBatch
            measurements = plan.measurements.map { Measurement(batch: $0.batch, peak_bytes: $0.peakBytes) }
        }
    }
}
