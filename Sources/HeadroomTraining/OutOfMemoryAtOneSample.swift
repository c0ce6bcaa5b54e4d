public import Torch

/// The step could not run even one sample at a time.
public struct OutOfMemoryAtOneSample: Error, CustomStringConvertible {
    public var resolution: Int
    public var budgetBytes: Int?
    public var underlying: TorchError

    public var description: String {
        let budget = budgetBytes.map { " within the budget of \(formatBytes($0))" } ?? ""
        return "one sample at \(resolution)×\(resolution) px does not fit\(budget) (\(underlying)). "
            + "What would help: a lower resolution, --precision bf16, or a larger --memory-budget"
    }
}
