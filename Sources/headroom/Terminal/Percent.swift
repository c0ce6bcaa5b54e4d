import Foundation

/// A fraction as a percentage with one decimal: 0.8125 → "81.2%".
func percent(_ fraction: Double) -> String { String(format: "%.1f%%", fraction * 100) }
