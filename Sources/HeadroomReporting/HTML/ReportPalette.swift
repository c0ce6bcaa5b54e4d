/// The report's colours, one per quantity, so a colour means the same thing in every chart.
enum ReportPalette {
    static let train = "#2563eb"
    static let validation = "#ea580c"
    static let top5 = "#059669"
    /// `--model-ema`'s moving average.
    static let average = "#0891b2"
    static let memory = "#7c3aed"
    static let budget = "#334155"
    static let outOfMemory = "#dc2626"
    static let replan = "#d97706"
    static let stage = "#94a3b8"
    static let epoch = "#e2e8f0"
    static let learningRate = "#be185d"
    static let throughput = "#0891b2"
    static let microBatch = "#2563eb"
    static let accumulation = "#7c3aed"
    static let resolution = "#0f766e"
}
