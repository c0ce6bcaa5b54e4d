/// `--model-ema`, `--model-ema-decay`, `--model-ema-steps` as torchvision's reference recipe
/// has them: every `steps` optimiser steps, `average ← decay·average + (1 − decay)·weights`,
/// with the decay adjusted for how many samples pass between updates
/// (``effectiveDecay(batchSize:epochs:)``), and the average reset to the weights during warm-up.
public struct EMASettings: Sendable, Codable, Equatable {
    /// torchvision's default, meant for its 600-epoch recipe; the adjustment scales it.
    public static let standardDecay = 0.99998
    public var decay: Double
    /// Optimiser steps between updates (torchvision counts iterations, which are its steps).
    public var steps: Int

    public init(decay: Double = standardDecay, steps: Int = 32) {
        self.decay = decay
        self.steps = steps
    }

    /// torchvision's adjustment: α = 1 − decay, scaled by the samples between updates per
    /// epoch (batch · steps / epochs) and capped at 1. It counts the effective batch, so it is
    /// the same for one process or eight, any micro-batch.
    public func effectiveDecay(batchSize: Int, epochs: Int) -> Double {
        let adjust = Double(batchSize * steps) / Double(max(1, epochs))
        return 1 - min(1, (1 - decay) * adjust)
    }

    func problems() -> [String] {
        var problems: [String] = []
        if !(decay >= 0 && decay < 1) { problems.append("--model-ema-decay must be in [0, 1) (got \(decay))") }
        if steps < 1 { problems.append("--model-ema-steps must be at least 1 (got \(steps))") }
        return problems
    }
}
