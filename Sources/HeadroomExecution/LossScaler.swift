public import Torch

/// PyTorch's dynamic loss scaling (`torch.amp.GradScaler`) for float16 training: the loss
/// is multiplied by `scale` before backward so small gradients survive float16; before the
/// step the gradients are divided back, and a step whose gradients are not finite is
/// skipped and the scale halved. After `growthInterval` clean steps the scale doubles.
public struct LossScaler: Sendable, Equatable, Codable {
    public var scale: Double = 65536
    public var growthFactor: Double = 2
    public var backoffFactor: Double = 0.5
    public var growthInterval: Int = 2000
    /// Clean steps since the scale last changed.
    public var cleanSteps = 0

    public init() {}

    /// Divides the gradients by the scale; returns whether they are all finite
    /// (one host synchronisation per optimiser step).
    public func unscale(_ gradients: [Tensor]) throws(TorchError) -> Bool {
        var allFinite = true
        for gradient in gradients {
            try gradient *= 1 / scale
        }
        if !gradients.isEmpty {
            let flags = try gradients.map { (g) throws(TorchError) in try g.isFinite().logicalNot().sum() }
            allFinite = try Tensor.stack(flags).sum().itemInt() == 0  // host sync
        }
        return allFinite
    }

    /// Updates the scale after a step whose gradients were (or were not) finite.
    public mutating func update(foundInfinite: Bool) {
        if foundInfinite {
            scale *= backoffFactor
            cleanSteps = 0
        } else {
            cleanSteps += 1
            if cleanSteps >= growthInterval {
                scale *= growthFactor
                cleanSteps = 0
            }
        }
    }
}
