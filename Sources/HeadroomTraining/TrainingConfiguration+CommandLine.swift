import Foundation
public import HeadroomExecution
import Torch

/// One setting of a run as the `headroom train` flag that gives it.
public struct CommandLineSetting: Codable, Sendable, Equatable {
    public var flag: String
    public var value: String

    public init(_ flag: String, _ value: String) {
        self.flag = flag
        self.value = value
    }
}

extension TrainingConfiguration {
    /// Every setting as the flag a user would type for it, with units, defaults resolved to
    /// what the run uses (`→`): the report's configuration table, instead of field names and
    /// raw byte counts.
    ///
    /// Values are what the flag takes (`--crop-scale 0.35,1`), so a row can be pasted back.
    public func commandLine(
        device: String, precision: Precision, budgetBytes: Int, worldSize: Int, channelsLastInUse: Bool? = nil,
        resolvedWeights: String? = nil
    ) -> [CommandLineSetting] {
        func number(_ value: Double) -> String { String(format: "%g", value) }
        var rows: [CommandLineSetting] = [
            .init("--train", trainPath), .init("--val", validationPath),
            .init("--model", architecture.rawValue), .init("--weights", weightsPath.map { given in resolvedWeights.map { "\(given) → \($0)" } ?? given } ?? "none (random initialisation)"),
            .init("--epochs", "\(epochs)"),
            .init("--batch-size", "\(batchSize) per optimiser step" + (worldSize > 1 ? ", over \(worldSize) processes" : "")),
            .init("--image-size", "\(imageSize) px"),
        ]
        if let resizeSchedule { rows.append(.init("--resize-schedule", resizeSchedule.description)) }
        rows.append(.init("--val-image-size", "\(resolvedValidationImageSize) px"))
        rows.append(.init("--optimizer", optimizer.rawValue))
        rows.append(.init("--lr", number(resolvedLearningRate) + (learningRate == nil ? " (default for a batch of \(batchSize))" : "")))
        if optimizer == .sgd {
            rows.append(.init("--momentum", number(momentum)))
            if nesterov { rows.append(.init("--nesterov", "on")) }
        }
        rows += [
            .init("--weight-decay", number(weightDecay)), .init("--lr-schedule", learningRateSchedule.rawValue),
            .init("--warmup-epochs", number(warmupEpochs)), .init("--label-smoothing", number(labelSmoothing)),
            .init("--crop-scale", cropScale.map { "\(number($0.lowerBound)),\(number($0.upperBound))" } ?? "0.08,1"),
            .init("--device", self.device.description + (self.device.description == device ? "" : " → \(device)")),
            .init("--precision", self.precision.rawValue + (self.precision.rawValue == precision.rawValue ? "" : " → \(precision.rawValue)")),
            .init("--memory-budget", budgetGiven + formatBytes(budgetBytes)),
            .init("--activation-checkpointing", activationCheckpointing.description),
            .init("--streaming", streaming.description),
            .init("--min-micro-batch", "\(minimumMicroBatch)"),
        ]
        if let forcedMicroBatch { rows.append(.init("--micro-batch", "\(forcedMicroBatch)")) }
        if let bands { rows.append(.init("--bands", bands.map { "\($0 + 1)" }.joined(separator: ","))) }
        rows.append(.init("--normalize", normalize?.description ?? "auto"))
        if let slide {
            rows.append(.init(slide.view.isLevel ? "--slide-level" : "--slide-mpp", slide.view.description))
            if !slide.tissueMask { rows.append(.init("--no-tissue-mask", "training regions anywhere on the slide")) }
            if let slideRegions { rows.append(.init("--slide-regions", "\(slideRegions) per slide per epoch")) }
            rows.append(.init("--slide-eval", slide.evaluation.rawValue))
        }
        if freezeBackbone { rows.append(.init("--freeze-backbone", "on")) }
        if let freezeBatchNorm { rows.append(.init("--freeze-bn", freezeBatchNorm ? "on" : "off")) }
        if syncBatchNorm == true { rows.append(.init("--sync-bn", worldSize > 1 ? "on, over \(worldSize) processes" : "on (one process: plain BatchNorm)")) }
        if let gradientClipNorm { rows.append(.init("--grad-clip", number(gradientClipNorm))) }
        if let normWeightDecay { rows.append(.init("--norm-weight-decay", number(normWeightDecay))) }
        if let mixupAlpha { rows.append(.init("--mixup-alpha", number(mixupAlpha))) }
        if let cutmixAlpha { rows.append(.init("--cutmix-alpha", number(cutmixAlpha))) }
        if let policy = augmentPolicy { rows.append(.init("--auto-augment", policy.name)) }
        if let randomErase { rows.append(.init("--random-erase", number(randomErase))) }
        if let modelEMA {
            let decay = modelEMA.effectiveDecay(batchSize: batchSize, epochs: epochs)
            rows.append(.init("--model-ema", "decay \(number(modelEMA.decay)) → \(number(decay)) every \(modelEMA.steps) steps"))
        }
        if let validationResizeSize { rows.append(.init("--val-resize-size", "\(validationResizeSize) px")) }
        switch (channelsLast, channelsLastInUse) {
        case (true?, _): rows.append(.init("--channels-last", "on"))
        case (false?, _): rows.append(.init("--no-channels-last", "channels-first"))
        case (nil, let used?): rows.append(.init(used ? "--channels-last" : "--no-channels-last", "default → \(used ? "on" : "channels-first")"))
        case (nil, nil): break
        }
        rows += [
            .init("--seed", "\(seed)"), .init("--workers", "\(workers) decoding threads"),
            .init("--threads", threads.map { "\($0)" } ?? "libtorch's default"), .init("--on-bad-image", onBadImage.rawValue),
        ]
        if let checkpointEverySteps { rows.append(.init("--checkpoint-every", "\(checkpointEverySteps) steps")) }
        if let checkpointEveryMinutes { rows.append(.init("--checkpoint-every", "\(number(checkpointEveryMinutes)) min")) }
        rows.append(.init("--nproc-per-node", "\(worldSize) process\(worldSize == 1 ? "" : "es") (world size)"))
        return rows
    }

    /// How the budget was asked for, when that is not already its size: "80.0% → ", "default → ".
    private var budgetGiven: String {
        switch memoryBudget {
        case nil: "default → "
        case .fraction?: "\(memoryBudget!) → "
        case .bytes?: ""
        }
    }
}
