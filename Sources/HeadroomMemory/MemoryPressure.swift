/// Simulated memory pressure (the demo, tests): another tenant takes `bytes` of the budget
/// from optimiser step `fromStep` until `untilStep` (exclusive; nil: to the end).
public struct MemoryPressure: Sendable, Codable, Equatable {
    public var fromStep: Int
    public var untilStep: Int?
    public var bytes: Int

    public init(fromStep: Int, untilStep: Int?, bytes: Int) {
        self.fromStep = fromStep
        self.untilStep = untilStep
        self.bytes = bytes
    }

    /// Whether the tenant holds its bytes at optimiser step `step` (zero-based, global).
    public func isActive(atStep step: Int) -> Bool {
        step >= fromStep && step < (untilStep ?? Int.max)
    }
}
