import Foundation
import Torch

/// The run's records: metrics.jsonl and TensorBoard rows, config.json, the start-up table.
extension Trainer {
    func logStep(_ progress: StepProgress, samplesPerSecond: Double, allReduceSeconds: Double?) throws {
        var fields: [String: Any?] = [
            "epoch": progress.epoch, "step": progress.globalStep, "samples": samplesSeen, "loss": progress.loss,
            "lr": progress.learningRate, "micro_batch": progress.microBatch, "accumulation": progress.accumulation,
            "resolution": progress.resolution, "peak_bytes": progress.peakBytes, "budget_bytes": progress.budgetBytes ?? budgetBytes,
            "samples_per_s": samplesPerSecond,
        ]
        // Data-parallel: rank 0's view (its micro-batch and peak; the whole step's samples).
        if let allReduceSeconds { fields["allreduce_s"] = allReduceSeconds }
        if let dataParallel { fields["world_size"] = dataParallel.worldSize }
        try metrics?.append("step", fields)
        for (tag, value) in [
            ("train/loss", progress.loss), ("train/lr", progress.learningRate), ("train/samples_per_s", samplesPerSecond),
            ("memory/peak_bytes", Double(progress.peakBytes)), ("memory/budget_bytes", Double(progress.budgetBytes ?? budgetBytes)),
            ("plan/micro_batch", Double(progress.microBatch)), ("plan/accumulation", Double(progress.accumulation)),
            ("plan/resolution", Double(progress.resolution)),
        ] {
            try? tensorBoard?.add(scalar: value, tag: tag, step: progress.globalStep)
        }
    }

    func writeRunRecord() throws {
        guard isWriter else { return }
        try directory.write(
            RunRecord(
                configuration: configuration, device: device.description, precision: precision, budgetBytes: budgetBytes,
                classNames: train.classes, trainingSamples: train.samples.count, validationSamples: validation.samples.count,
                plan: plans.sorted { $0.resolution < $1.resolution }, headroomVersion: HeadroomRelease.version),
            to: directory.configuration)
    }

    func startRows() -> [(String, String)] {
        [
            ("model", "\(configuration.architecture.rawValue), \(train.classes.count) classes, \(step.model.parameterCount) parameters"),
            ("data", "\(train.samples.count) training / \(validation.samples.count) validation images"),
            ("device", "\(device), \(precision.rawValue)\(step.memoryFormat == .channelsLast ? ", channels-last" : "")"),
            ("memory budget", formatBytes(budgetBytes)),
            // The prefetch queue holds two decoded batches besides the one training.
            ("loader", "\(configuration.workers) decoding threads; up to 3 uint8 batches in host memory (\(formatBytes(3 * BatchLoader.batchBytes(count: configuration.batchSize, resolution: configuration.trainingResolutions.max() ?? configuration.imageSize))) at the largest resolution)"),
            ("batch", "\(configuration.batchSize) per optimiser step" + (dataParallel.map { " (\(AccumulationPlan.describe(AccumulationPlan.split(configuration.batchSize, into: $0.worldSize))) over \($0.worldSize) ranks)" } ?? "")),
            dataParallel.map { ("workers", "\($0.worldSize) processes, Gloo rendezvous at \($0.environment.masterAddress):\($0.environment.masterPort); rank 0 writes the run") },
            ("schedule", "\(configuration.epochs) epochs at \(configuration.resizeSchedule?.description ?? "\(configuration.imageSize)") px, \(configuration.optimizer.rawValue) lr \(configuration.learningRate) \(configuration.learningRateSchedule.rawValue)"),
            ("run directory", directory.url.path),
        ].compactMap { $0 }
    }

    func learningRateSchedule(stepsPerEpoch: Int) -> LearningRateSchedule {
        LearningRateSchedule(
            kind: configuration.learningRateSchedule, baseRate: configuration.learningRate,
            totalSteps: stepsPerEpoch * configuration.epochs, warmupSteps: Int(configuration.warmupEpochs * Double(stepsPerEpoch)))
    }
}
