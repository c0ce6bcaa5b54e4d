import Foundation
import HeadroomData
import HeadroomFormats
import HeadroomMemory
import Torch

/// What the run says about itself: config.json and the start-up table.
extension Trainer {
    func writeRunRecord() throws {
        guard isWriter else { return }
        try directory.write(
            RunRecord(
                configuration: configuration, device: device.description, precision: precision, budgetBytes: memory.limit.budgetBytes,
                classNames: setup.train.classes, trainingSamples: setup.train.samples.count,
                validationSamples: setup.validation.samples.count,
                plan: memory.plans.values.sorted { $0.resolution < $1.resolution }, headroomVersion: HeadroomRelease.version,
                commandLine: configuration.commandLine(
                    device: device.description, precision: precision, budgetBytes: memory.limit.budgetBytes,
                    worldSize: dataParallel?.worldSize ?? 1, channelsLastInUse: step.memoryFormat == .channelsLast,
                    resolvedWeights: setup.resolvedWeights)),
            to: directory.configuration)
    }

    func startRows() -> [(String, String)] {
        [
            ("model", "\(configuration.architecture.rawValue), \(setup.train.classes.count) classes, \(step.model.parameterCount) parameters"),
            ("data", dataRow),
            ("device", "\(device), \(precision.rawValue)\(step.memoryFormat == .channelsLast ? ", channels-last" : "")"),
            ("memory budget", formatBytes(memory.limit.budgetBytes)),
            ("input", "\(setup.input)\(setup.input.example.map { " (as \(PathNames.display($0)))" } ?? ""), normalised with \(setup.normalisation)"),
            ("loader", loaderRow),
            ("batch", "\(configuration.batchSize) per optimiser step" + (dataParallel.map { " (\(AccumulationPlan.describe(evenSplit(configuration.batchSize, into: $0.worldSize))) over \($0.worldSize) ranks)" } ?? "")),
            dataParallel.map { ("workers", "\($0.worldSize) processes, rendezvous at \($0.environment.masterAddress):\($0.environment.masterPort); rank 0 writes the run") },
            dataParallel.map { ("collectives", $0.collectivesDescription + ($0.backendNote.map { " (\($0))" } ?? "")) },
            ("schedule", "\(configuration.epochs) epoch\(configuration.epochs == 1 ? "" : "s") at \(configuration.resizeSchedule?.description ?? "\(configuration.imageSize)") px, \(configuration.optimizer.rawValue) lr \(configuration.resolvedLearningRate)\(configuration.learningRate == nil ? " (the default for a batch of \(configuration.batchSize))" : "") \(configuration.learningRateSchedule.rawValue)"),
            ("run directory", directory.url.path),
        ].compactMap { $0 }
    }

    private var loaderRow: String {
        let largest = configuration.trainingResolutions.max() ?? configuration.imageSize
        let type = setup.step.inputType
        let queued = BatchLoader.queuedBytes(count: configuration.batchSize, resolution: largest, format: setup.input, type: type)
        return "\(configuration.workers) decoding threads; up to 3 \(type) batches in host memory (\(formatBytes(queued)) at the largest resolution)"
    }

    /// The sets' sizes; a slide set counts slides, and the regions each gives an epoch.
    var dataRow: String {
        let (train, validation) = (setup.train.samples.count, setup.validation.samples.count)
        guard setup.input.reading == .slide else { return "\(train) training / \(validation) validation images" }
        let regions = max(1, configuration.slideRegions ?? 1)
        return "\(train / regions) training / \(validation) validation slides"
            + (regions > 1 ? " (\(regions) training regions of each an epoch: \(train) samples)" : "")
    }
}
