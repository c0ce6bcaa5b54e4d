import CTorch

/// Synchronised BatchNorm's collectives over a process group: the batch statistics of every
/// rank's micro-batch, and the matching gradient terms in backward (PyTorch's
/// `SyncBatchNorm`), arranged so that they can never leave a rank waiting.
///
/// Every collective carries a status word. A rank whose micro-batch failed, or that has no
/// samples in it, calls ``meet(reporting:)``, which answers the others' collectives until every
/// rank is there: the others see the report in their next collective (it throws
/// ``TorchError/peerFailed(_:)``), meet too, and all learn the same outcome at the same point.
///
/// Collectives run only while ``isActive``: the memory probe runs the same model alone.
/// `@unchecked Sendable`: used from the training thread (and libtorch's autograd, which it waits for).
public final class BatchNormSynchronization: @unchecked Sendable {
    let handle: OpaquePointer
    public let group: ProcessGroup
    /// Whether BatchNorm layers synchronise now (the trainer's steps) or normalise alone.
    public var isActive = false

    /// How a micro-batch ended on a rank, as ``meet(reporting:)`` reports it.
    public enum Failure: Int32, Sendable {
        case none = 0
        /// Out of memory: every rank drops the attempt and runs it again smaller.
        case recoverable = 1
        /// Anything else: every rank stops.
        case fatal = 2
    }

    /// For a model whose widest BatchNorm has `channels` channels.
    public init(group: ProcessGroup, channels: Int) throws(TorchError) {
        var out: OpaquePointer?
        try check(ctorch_batch_norm_sync_create(group.handle, Int64(channels), &out))
        guard let out else { throw .failed("libtorch returned no BatchNorm synchronisation") }
        handle = out
        self.group = group
    }

    deinit { ctorch_batch_norm_sync_free(handle) }

    /// The statistics of `input` over every rank's batch (one collective); the running
    /// statistics, when given, are updated with them once.
    public func statistics(
        of input: Tensor, tag: Int, runningMean: Tensor?, runningVariance: Tensor?, momentum: Double, epsilon: Double
    ) throws(TorchError) -> Statistics {
        var mean: OpaquePointer?
        var inverseDeviation: OpaquePointer?
        var count: Int64 = 0
        try withExtendedLifetime((input, runningMean, runningVariance)) { () throws(TorchError) in
            try check(ctorch_batch_norm_sync_statistics(
                handle, Int64(tag), input.handle, runningMean?.handle, runningVariance?.handle, momentum, epsilon, &mean,
                &inverseDeviation, &count))
        }
        guard let mean, let inverseDeviation else { throw .failed("libtorch returned no statistics") }
        return Statistics(mean: Tensor(handle: mean), inverseDeviation: Tensor(handle: inverseDeviation), count: Int(count))
    }

    /// Every rank's batch statistics of one BatchNorm's input.
    public struct Statistics {
        public var mean: Tensor
        public var inverseDeviation: Tensor
        /// Values per channel over every rank.
        public var count: Int
    }

    /// `input` normalised with `statistics` and scaled; its backward sums the statistics'
    /// gradient terms over the ranks (one collective).
    public func normalize(
        _ input: Tensor, tag: Int, weight: Tensor, bias: Tensor, statistics: Statistics
    ) throws(TorchError) -> Tensor {
        try withExtendedLifetime((input, weight, bias, statistics.mean, statistics.inverseDeviation)) { () throws(TorchError) in
            try Tensor.make {
                ctorch_batch_norm_sync_normalize(
                    handle, Int64(tag), input.handle, weight.handle, bias.handle, statistics.mean.handle,
                    statistics.inverseDeviation.handle, Int64(statistics.count), $0)
            }
        }
    }

    /// Ends a micro-batch: reports `failure` and waits, answering the others' collectives,
    /// until every rank has met here. Returns the worst failure any rank reported and, when
    /// exactly one rank failed fatally, which.
    public func meet(reporting failure: Failure) throws(TorchError) -> (worst: Failure, failedRank: Int?) {
        var worst: Int32 = 0
        var rank: Int32 = -1
        try check(ctorch_batch_norm_sync_meet(handle, failure.rawValue, &worst, &rank))
        return (Failure(rawValue: worst) ?? .fatal, rank >= 0 ? Int(rank) : nil)
    }

    /// How many collectives have run (tests count them).
    public var collectives: Int { Int(ctorch_batch_norm_sync_collectives(handle)) }
}
