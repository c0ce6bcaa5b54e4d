import Foundation

/// A linear axis with "nice" ticks (1, 2 or 5 times a power of ten, in the axis unit).
struct AxisScale: Equatable {
    let lower: Double
    let upper: Double
    let ticks: [Double]
    /// The distance between ticks, in data units.
    let tickStep: Double

    /// - Parameters:
    ///   - snapsToTicks: widen the domain to the enclosing ticks (value axes) or keep it
    ///     at the data (step and epoch axes, where empty margins waste width).
    ///   - unit: ticks are nice multiples of this (1024³ puts byte ticks on whole GiB).
    init(
        minimum: Double, maximum: Double, tickCount: Int = 5, integerTicks: Bool = false,
        snapsToTicks: Bool = true, unit: Double = 1
    ) {
        // A span wider than a double can step through (±1e308, a diverged run) is narrowed.
        var low = max(minimum / unit, -1e300)
        var high = min(maximum / unit, 1e300)
        if !(high > low) {
            // One value: centre it in a range of its own scale.
            let half = integerTicks ? 1 : (low == 0 ? 1 : abs(low) * 0.1)
            low -= half
            high += half
        }
        var step = Self.niceStep((high - low) / Double(max(tickCount, 1)))
        if integerTicks { step = max(step.rounded(.up), 1) }
        if snapsToTicks {
            low = (low / step).rounded(.down) * step
            high = (high / step).rounded(.up) * step
        }
        let first = (low / step - 1e-9).rounded(.up)
        let last = (high / step + 1e-9).rounded(.down)
        ticks = first <= last ? stride(from: first, through: last, by: 1).map { $0 * step * unit } : []
        lower = low * unit
        upper = high * unit
        tickStep = step * unit
    }

    /// A fixed domain, such as 0...1 for accuracies.
    init(fixed domain: ClosedRange<Double>, tickStep: Double) {
        lower = domain.lowerBound
        upper = domain.upperBound
        self.tickStep = tickStep
        ticks = stride(from: lower, through: upper + tickStep * 1e-9, by: tickStep).map { $0 }
    }

    /// Maps `value` linearly from the domain to `range` (which may run backwards, as y does).
    func position(_ value: Double, in range: ClosedRange<Double>, reversed: Bool = false) -> Double {
        let fraction = upper > lower ? (min(max(value, lower), upper) - lower) / (upper - lower) : 0.5
        return reversed
            ? range.upperBound - fraction * (range.upperBound - range.lowerBound)
            : range.lowerBound + fraction * (range.upperBound - range.lowerBound)
    }

    private static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let residual = raw / magnitude
        let nice: Double = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10
        return nice * magnitude
    }
}
