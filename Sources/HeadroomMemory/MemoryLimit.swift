import Torch

/// The budget and the share of it kept free: the one definition of "fits" that the
/// planner, the probes and the recovery policy all use.
public struct MemoryLimit: Sendable, Codable, Equatable, CustomStringConvertible {
    /// What the device may hold: the allocator refuses beyond it.
    public var budgetBytes: Int
    /// The fraction of the budget kept free for what a measurement cannot see
    /// (fragmentation, the allocator's rounding, a loader's burst).
    public var headroom: Double

    public init(budgetBytes: Int, headroom: Double = 0.1) {
        self.budgetBytes = budgetBytes
        self.headroom = headroom
    }

    /// The bytes a plan may fill: the budget less the headroom.
    public var usableBytes: Int { Int(Double(budgetBytes) * (1 - headroom)) }

    /// Whether a step that peaks at `peakBytes` fits.
    public func fits(_ peakBytes: Int) -> Bool { peakBytes <= usableBytes }

    public var description: String {
        "\(formatBytes(budgetBytes)) (\(Int((headroom * 100).rounded()))% kept free)"
    }
}
