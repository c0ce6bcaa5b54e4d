/// What an axis shows and how its ticks read.
struct ChartAxis {
    enum Format {
        case number
        /// Fractions shown as percentages.
        case percent
        /// Byte counts, ticked on whole units of the largest fitting power of 1024.
        case bytes
    }

    var label: String
    var format: Format = .number
    var integerTicks = false
    var includesZero = false
    /// Overrides the data's range, such as 0...1 for accuracies.
    var fixedDomain: ClosedRange<Double>?

    func scale(minimum: Double, maximum: Double, tickCount: Int, snapsToTicks: Bool) -> AxisScale {
        if let fixedDomain {
            if format == .percent { return AxisScale(fixed: fixedDomain, tickStep: 0.2) }
            return AxisScale(
                minimum: fixedDomain.lowerBound, maximum: fixedDomain.upperBound, tickCount: tickCount,
                integerTicks: integerTicks, snapsToTicks: false)
        }
        let low = includesZero ? min(minimum, 0) : minimum
        let unit = format == .bytes ? pow1024(ReportFormat.byteUnitExponent(maximum)) : 1
        return AxisScale(
            minimum: low, maximum: maximum, tickCount: tickCount, integerTicks: integerTicks,
            snapsToTicks: snapsToTicks, unit: unit)
    }

    /// A tick label with as many decimals as the tick step needs, the same for every tick.
    func tickLabel(_ value: Double, step: Double) -> String {
        switch format {
        case .percent:
            return ReportFormat.percent(value, digits: step * 100 >= 1 ? 0 : 1)
        case .bytes:
            let exponent = ReportFormat.byteUnitExponent(max(abs(value), step))
            let unit = pow1024(exponent)
            return "\(Self.fixed(value / unit, step: step / unit)) \(ReportFormat.byteUnits[exponent])"
        case .number:
            return abs(value) >= 10_000 && step >= 1 ? ReportFormat.integer(value) : Self.fixed(value, step: step)
        }
    }

    /// A data value for a tooltip.
    func valueLabel(_ value: Double) -> String {
        switch format {
        case .percent: ReportFormat.percent(value)
        case .bytes: value.isFinite && abs(value) < 1e18 ? ReportFormat.bytes(Int(value)) : ReportFormat.decimal(value)
        case .number: integerTicks ? ReportFormat.integer(value) : ReportFormat.decimal(value)
        }
    }

    private static func fixed(_ value: Double, step: Double) -> String {
        var decimals = 0
        var scaledStep = step
        while scaledStep.rounded() != scaledStep, decimals < 6 {
            scaledStep *= 10
            decimals += 1
        }
        // A tick that should be zero may arrive as -1e-17; print it as 0, not -0.0.
        let text = String(format: "%.\(decimals)f", abs(value) < step * 1e-6 ? 0 : value)
        return text
    }

    private func pow1024(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { value, _ in value * 1024 }
    }
}
