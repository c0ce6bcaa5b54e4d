public import HeadroomModels
public import Torch
import TorchNN

/// An exponential moving average of a network's weights and BatchNorm statistics, as
/// torchvision's reference `ExponentialMovingAverage` (an `AveragedModel` with buffers):
/// the first update copies, each later one makes `average ← decay·average + (1 − decay)·weights`.
///
/// It is updated once per optimiser step that the schedule picks (never per micro-batch), from
/// weights that every rank holds alike after the step, so every rank's average is the same.
/// Integer buffers (BatchNorm's batch count) are copied, not averaged.
public final class ModelAverage {
    /// The averaged network, in evaluation mode, on the training network's device and type.
    public let model: ResNet
    public let settings: EMASettings
    /// The decay each update applies (``EMASettings/effectiveDecay(batchSize:epochs:)``).
    public let decay: Double
    /// Updates so far (torchvision's `n_averaged`); 0 makes the next one a copy.
    public internal(set) var updates = 0

    public init(of source: ResNet, settings: EMASettings, batchSize: Int, epochs: Int, memoryFormat: MemoryFormat) throws {
        let classes = source.fc.weight.shape[0]
        let bands = source.conv1.weight.shape[1]
        model = try ResNet(source.architecture, classCount: classes, inputBands: bands)
        try model.move(to: source.fc.weight.device, dtype: source.fc.weight.dtype)
        try model.setMemoryFormat(memoryFormat)
        try model.load(Dictionary(uniqueKeysWithValues: source.stateDict().map { ($0.name, $0.tensor) }))
        model.eval()
        self.settings = settings
        decay = settings.effectiveDecay(batchSize: batchSize, epochs: epochs)
    }

    /// Whether the update schedule picks step `stepInEpoch` (0-based) of an epoch: torchvision's
    /// `i % model_ema_steps == 0`, its iterations being optimiser steps.
    public func isDue(atStepInEpoch stepInEpoch: Int) -> Bool {
        stepInEpoch % settings.steps == 0
    }

    /// One update from `source`'s current weights and statistics.
    public func update(from source: ResNet) throws(TorchError) {
        let first = updates == 0
        let decay = decay
        try withoutGradient { () throws(TorchError) in
            for (average, current) in zip(model.stateDict(), source.stateDict()) {
                if first || !average.tensor.dtype.isFloatingPoint {
                    try average.tensor.copyInPlace(from: current.tensor)
                } else {
                    try average.tensor *= decay
                    try average.tensor.addInPlace(current.tensor, alpha: 1 - decay)
                }
            }
        }
        updates += 1
    }

    /// Makes the next update a copy again: torchvision keeps copying the weights during warm-up.
    public func restart() { updates = 0 }
}
