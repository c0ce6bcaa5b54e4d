/// The order of an epoch: a permutation drawn from (seed, epoch) alone, so it does not
/// depend on threads or processes, and a resumed run continues the same sequence.
public struct EpochOrder: Sendable, Equatable {
    public let indices: [Int]

    /// A Fisher–Yates shuffle of `samples` (minus `excluded`), from its own random stream.
    public init(samples: Int, seed: UInt64, epoch: Int, excluded: Set<Int> = []) {
        var order = (0..<samples).filter { !excluded.contains($0) }
        // Index -1 names the epoch's shuffle stream; samples' augmentations use 0…n-1.
        var random = DeterministicRandom(seed: seed, epoch: epoch, index: -1)
        if order.count > 1 {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, random.nextInt(below: i + 1))
            }
        }
        indices = order
    }

    /// Optimiser steps in the epoch: the samples that do not fill a whole effective batch
    /// are left out of this epoch (a different few each epoch, since the order changes),
    /// so that every step sees exactly the effective batch.
    public func stepCount(effectiveBatch: Int) -> Int { indices.count / effectiveBatch }

    /// The samples of the 0-based step `step`.
    public func samples(ofStep step: Int, effectiveBatch: Int) -> ArraySlice<Int> {
        indices[(step * effectiveBatch)..<((step + 1) * effectiveBatch)]
    }

    /// Rank `rank`'s share of step `step` when `worldSize` processes train together: the
    /// step's samples cut into `worldSize` consecutive parts whose sizes differ by at most
    /// one (the first `effectiveBatch % worldSize` ranks take one more). Every rank sees the
    /// same permutation, so the shares cover the step exactly once; no padding is needed,
    /// because an epoch only has whole steps.
    public func samples(ofStep step: Int, effectiveBatch: Int, rank: Int, worldSize: Int) -> ArraySlice<Int> {
        precondition(worldSize >= 1 && (0..<worldSize).contains(rank), "rank \(rank) of \(worldSize)")
        let whole = samples(ofStep: step, effectiveBatch: effectiveBatch)
        let sizes = evenSplit(effectiveBatch, into: worldSize)
        let start = whole.startIndex + sizes[..<rank].reduce(0, +)
        return whole[start..<(start + sizes[rank])]
    }
}
