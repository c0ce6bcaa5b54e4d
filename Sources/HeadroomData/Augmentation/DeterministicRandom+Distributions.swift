import Foundation

/// The continuous distributions the recipe's augmentations draw from, written out (not taken
/// from a library) so that a stream gives the same values on every machine and release.
extension DeterministicRandom {
    /// A standard normal value (Box–Muller, one of the pair).
    public mutating func nextNormal() -> Double {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let radius = (-2 * Foundation.log(1 - nextUnitInterval())).squareRoot()
        return radius * Foundation.cos(2 * Double.pi * nextUnitInterval())
    }

    /// A Gamma(shape, 1) value (Marsaglia & Tsang, 2000).
    public mutating func nextGamma(shape: Double) -> Double {
        Foundation.exp(nextLogGamma(shape: shape))
    }

    /// The logarithm of a Gamma(shape, 1) value: shapes below 1 go through
    /// Gamma(shape + 1) · U^(1/shape), whose product underflows for small shapes (MixUp's
    /// α = 0.2 makes U^5), so it is kept as a sum of logarithms.
    public mutating func nextLogGamma(shape: Double) -> Double {
        precondition(shape > 0, "a Gamma shape must be positive, got \(shape)")
        if shape < 1 {
            return nextLogGamma(shape: shape + 1) + Foundation.log(1 - nextUnitInterval()) / shape
        }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1 - nextUnitInterval()
            if u < 1 - 0.0331 * x * x * x * x || Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) {
                return Foundation.log(d * v)
            }
        }
    }

    /// A Beta(α, β) value, as the ratio of two Gamma draws (what `torch.distributions.Beta` samples).
    /// X / (X + Y) = 1 / (1 + e^(log Y − log X)), which no underflow turns into 0 / 0.
    public mutating func nextBeta(_ alpha: Double, _ beta: Double) -> Double {
        let logX = nextLogGamma(shape: alpha)
        let logY = nextLogGamma(shape: beta)
        return 1 / (1 + Foundation.exp(logY - logX))
    }
}
