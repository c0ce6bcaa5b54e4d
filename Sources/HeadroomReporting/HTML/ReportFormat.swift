import Foundation

/// How numbers read in the report: the same rounding wherever a quantity appears.
enum ReportFormat {
    static func percent(_ fraction: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f%%", fraction * 100)
    }

    /// Losses and other values of unknown scale: about four significant digits.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
        let magnitude = abs(value)
        if magnitude >= 1e15 { return String(format: "%.3e", value) }  // a diverged loss: 1.8e29
        if magnitude >= 1000 { return integer(Int(value.rounded())) }
        if magnitude >= 100 { return String(format: "%.1f", value) }
        if magnitude >= 1 || magnitude == 0 { return String(format: "%.3f", value) }
        if magnitude >= 0.001 { return String(format: "%.4f", value) }
        return String(format: "%.2e", value)
    }

    /// Learning rates span decades: three significant digits.
    static func learningRate(_ value: Double) -> String { String(format: "%.3g", value) }

    /// A whole number of any size: grouped digits within 1e15, scientific beyond (Int
    /// cannot hold a diverged loss), as `decimal` says for NaN and infinities.
    static func integer(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return decimal(value) }
        return integer(Int(value.rounded()))
    }

    static func integer(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(digit)
        }
        return value < 0 ? "−" + grouped : grouped
    }

    /// Large counts as "1.2 M", for summary cards.
    static func compactCount(_ value: Int) -> String {
        let magnitude = Double(value)
        if magnitude >= 1e9 { return String(format: "%.2f B", magnitude / 1e9) }
        if magnitude >= 1e6 { return String(format: "%.2f M", magnitude / 1e6) }
        if magnitude >= 1e4 { return String(format: "%.1f k", magnitude / 1e3) }
        return integer(value)
    }

    static let byteUnits = ["B", "KiB", "MiB", "GiB", "TiB"]

    /// The power of 1024 that suits `bytes` (GiB for 3e9).
    static func byteUnitExponent(_ bytes: Double) -> Int {
        var exponent = 0
        var scaled = abs(bytes)
        while scaled >= 1024, exponent < byteUnits.count - 1 {
            scaled /= 1024
            exponent += 1
        }
        return exponent
    }

    static func bytes(_ value: Int) -> String {
        let exponent = byteUnitExponent(Double(value))
        if exponent == 0 { return "\(value) B" }
        let scaled = Double(value) / pow(1024, Double(exponent))
        return String(format: scaled >= 100 ? "%.0f %@" : "%.2f %@", scaled, byteUnits[exponent])
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "?" }
        let total = Int(seconds.rounded())
        let (hours, minutes, secs) = (total / 3600, total % 3600 / 60, total % 60)
        if hours > 0 { return String(format: "%d h %02d min", hours, minutes) }
        if minutes > 0 { return String(format: "%d min %02d s", minutes, secs) }
        return seconds < 10 ? String(format: "%.1f s", seconds) : "\(secs) s"
    }

    static func date(unixTime: Double) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: unixTime))
    }
}
