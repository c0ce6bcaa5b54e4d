import Foundation

/// The learning rate as a pure function of the optimiser step (nanoGPT's `get_lr`), so a
/// resumed run continues the same curve from its step count.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The base rate throughout (after warm-up).
        case constant
        /// Cosine decay from the base rate to 0 over the run (after warm-up).
        case cosine
        /// One-cycle (Smith): up from base/25 to the base over the first 30% (or the warm-up),
        /// then cosine down to base/10⁴, as PyTorch's OneCycleLR defaults.
        case onecycle
    }

    public var kind: Kind
    public var baseRate: Double
    public var totalSteps: Int
    public var warmupSteps: Int

    public init(kind: Kind, baseRate: Double, totalSteps: Int, warmupSteps: Int = 0) {
        self.kind = kind
        self.baseRate = baseRate
        self.totalSteps = max(1, totalSteps)
        self.warmupSteps = max(0, min(warmupSteps, totalSteps))
    }

    /// The rate for the 0-based optimiser step `step`.
    public func rate(atStep step: Int) -> Double {
        switch kind {
        case .constant, .cosine:
            if step < warmupSteps {
                // Linear warm-up from base/warmup to the base rate.
                return baseRate * Double(step + 1) / Double(warmupSteps)
            }
            guard kind == .cosine else { return baseRate }
            let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
            return baseRate * 0.5 * (1 + cos(Double.pi * min(1, progress)))
        case .onecycle:
            let peakStep = warmupSteps > 0 ? warmupSteps : Int(0.3 * Double(totalSteps))
            let initial = baseRate / 25
            let final = initial / 1e4
            if step < peakStep {
                let progress = Double(step) / Double(max(1, peakStep))
                return annealed(from: initial, to: baseRate, progress: progress)
            }
            let progress = Double(step - peakStep) / Double(max(1, totalSteps - 1 - peakStep))
            return annealed(from: baseRate, to: final, progress: min(1, progress))
        }
    }

    private func annealed(from start: Double, to end: Double, progress: Double) -> Double {
        end + (start - end) / 2 * (1 + cos(Double.pi * progress))
    }
}
