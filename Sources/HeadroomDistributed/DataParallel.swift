public import HeadroomModels
public import Torch
public import TorchNN

/// Data-parallel training over a c10d process group: every rank holds the same weights,
/// trains on its share of each effective batch, and the ranks meet once per optimiser step,
/// so an out-of-memory error recovered on one rank before that meeting (which only repeats
/// that rank's micro-batches) never leaves the others waiting in a different collective.
///
/// The meeting is the gradients' buckets (a ``GradientReducer`` on a group of its own; each
/// rank weighted its micro-batch losses by size / effective batch, so their sum is the
/// gradient of one big batch), launched during the last micro-batch's backward when
/// ``overlapsAllReduce``, then one small all-reduce of the BatchNorm running statistics
/// (pre-divided by the world size, so the sum is their mean and every rank keeps the same
/// buffers), the step's loss sum, correct count, stop vote and failure word.
public final class DataParallel: @unchecked Sendable {
    // @unchecked: used from the training thread only; ProcessGroup is Sendable.
    public let group: ProcessGroup
    public let environment: TorchrunEnvironment

    public var rank: Int { group.rank }
    public var worldSize: Int { group.worldSize }
    /// Rank 0 writes the run directory; the others only train.
    public var isWriter: Bool { group.rank == 0 }

    /// Synchronised BatchNorm's collectives (`--sync-bn`), once attached to the model.
    public private(set) var batchNormSynchronization: BatchNormSynchronization?

    /// The gradients' buckets, allocated once (before planning, so the planner counts them).
    public private(set) var gradientReducer: GradientReducer?
    /// Whether the buckets are launched during the last backward (else after it).
    public var overlapsAllReduce = true
    /// The statistics' flat bucket, allocated once: the small all-reduce allocates nothing.
    private var bucket: Tensor?

    /// Why `--dist-backend auto` left a GPU's collectives to Gloo, for the run's log.
    public let backendNote: String?

    public init(group: ProcessGroup, environment: TorchrunEnvironment, backendNote: String? = nil) {
        self.group = group
        self.environment = environment
        self.backendNote = backendNote
    }

    /// Which libraries run the collectives, for the run's log.
    public var collectivesDescription: String {
        group.ncclDevice.map { "NCCL on cuda:\($0) for CUDA tensors, Gloo for the rest" } ?? "Gloo"
    }

    /// Joins the run described by the torchrun variables: rank 0 serves the TCPStore
    /// (unless torchrun's agent does), everyone connects and builds the Gloo group, with
    /// NCCL for CUDA tensors where `backend` chooses it for `device`.
    public static func join(
        _ environment: TorchrunEnvironment, timeoutSeconds: Double, backend: DistributedBackend = .gloo, device: Device = .cpu
    ) throws -> DataParallel {
        let choice = try backend.choose(for: device, ncclUnavailable: ProcessGroup.ncclUnavailableReason)
        let address = "\(environment.masterAddress):\(environment.masterPort)"
        let servesStore = environment.rank == 0 && !environment.usesAgentStore
        let result = Result { () throws(TorchError) in
            try ProcessGroup(
                host: environment.masterAddress, port: environment.masterPort, rank: environment.rank,
                worldSize: environment.worldSize, timeoutSeconds: timeoutSeconds, hostsStore: servesStore,
                storePrefix: environment.usesAgentStore ? "/worker/attempt_\(environment.restartCount)" : nil,
                ncclDevice: choice.ncclDevice)
        }
        switch result {
        case let .success(group):
            return DataParallel(group: group, environment: environment, backendNote: choice.note)
        case let .failure(error):
            let message = "\(error)"
            let lower = message.lowercased()
            if servesStore && (lower.contains("in use") || lower.contains("eaddrinuse")) {
                throw DistributedSetupError(problems: [
                    "rank 0 cannot serve the rendezvous on \(address): the port is taken by another process. "
                        + "Choose a free one with --master-port (or MASTER_PORT). (\(message))"
                ])
            }
            if lower.contains("ping failed") {
                throw DistributedSetupError(problems: [
                    "rank \(environment.rank): something answers at \(address) but it is not a c10d rendezvous "
                        + "(another service on that port?): check MASTER_ADDR and MASTER_PORT. (\(message))"
                ])
            }
            if lower.contains("timed out") || lower.contains("timeout") || lower.contains("connect") {
                throw DistributedSetupError(problems: [
                    "rank \(environment.rank) could not meet all \(environment.worldSize) workers at \(address) within "
                        + "\(Int(timeoutSeconds)) s: check that MASTER_ADDR is reachable from this machine, that every "
                        + "worker was started, and that MASTER_PORT is the same everywhere. (\(message))"
                ])
            }
            throw DistributedSetupError(problems: ["rank \(environment.rank): joining the rendezvous at \(address) failed: \(message)"])
        }
    }

    /// Synchronises `model`'s BatchNorm statistics over the ranks from now on (`--sync-bn`).
    public func synchronizeBatchNorm(of model: ResNet) throws(TorchError) {
        let widest = model.batchNorms.map(\.weight.count).max() ?? 1
        let synchronization = try BatchNormSynchronization(group: group, channels: widest)
        model.synchronizeBatchNorm(with: synchronization)
        batchNormSynchronization = synchronization
    }

    /// Overwrites every parameter and buffer with rank 0's.
    public func broadcastState(of module: any Module) throws(TorchError) {
        let tensors = module.namedParameters().map(\.tensor) + module.namedBuffers().map(\.tensor)
        try withoutGradient { () throws(TorchError) in try group.broadcast(tensors, from: 0) }
    }

    /// Allocates the step's buckets: the gradients of `parameters` (on a second process
    /// group, so their collectives never interleave with this group's), and the
    /// floating-point `buffers` with the step totals, in the parameters' type and device.
    public func allocateBuckets(parameters: [Tensor], buffers: [Tensor]) throws(TorchError) {
        guard let first = parameters.first else { return }
        gradientReducer = try GradientReducer(group: group.sibling(named: "headroom/gradients"), parameters: parameters)
        let count = buffers.filter { $0.dtype.isFloatingPoint }.reduce(0) { $0 + $1.count } + StepTotals.count
        bucket = try Tensor.zeros([count], dtype: first.dtype, device: first.device)
    }

    /// Checks that every rank agrees on `values` (run settings and progress), naming the first
    /// difference. Also the point before which no rank writes anything.
    public func checkAgreement(_ values: [(name: String, value: Int64)]) throws {
        let gathered = try group.allGather(values.map(\.value))
        for (rank, theirs) in gathered.enumerated() where rank != group.rank {
            for (index, entry) in values.enumerated() where theirs[index] != entry.value {
                throw DistributedSetupError(problems: [
                    "rank \(group.rank) and rank \(rank) disagree on \(entry.name) (\(entry.value) here, \(theirs[index]) there): "
                        + "start every worker with the same options, data and run directory"
                ])
            }
        }
    }

    /// The union of every rank's `values`, sorted (two small all-gathers: counts, then values).
    public func union(of values: [Int]) throws(TorchError) -> [Int] {
        let counts = try group.allGather([Int64(values.count)]).map { Int($0[0]) }
        let longest = counts.max() ?? 0
        guard longest > 0 else { return [] }
        let padded = values.map(Int64.init) + Array(repeating: -1, count: longest - values.count)
        let all = try group.allGather(padded).joined().filter { $0 >= 0 }.map { Int($0) }
        return Array(Set(all)).sorted()
    }

    /// The step's small all-reduce, after the gradients': `buffers` (BatchNorm running
    /// statistics) become their mean over ranks and `totals` (``StepTotals``) their sum.
    ///
    /// With synchronised BatchNorm every rank computed the same running statistics, except
    /// a rank whose share left it an empty micro-batch, which skipped that update: there
    /// the buffers become rank 0's (whose share is the largest, so never empty) — the others
    /// add zeros.
    public func synchronize(buffers: [Tensor], totals: Tensor) throws(TorchError) {
        try withoutGradient { () throws(TorchError) in
            let floatBuffers = buffers.filter { $0.dtype.isFloatingPoint }
            for buffer in floatBuffers {
                if batchNormSynchronization == nil {
                    try buffer *= 1 / Double(worldSize)
                } else if rank != 0 {
                    try buffer.fillInPlace(0)
                }
            }
            try group.allReduce(floatBuffers + [totals], .sum, bucket: bucket)
        }
    }
}

/// The step's totals in the small all-reduce: loss sum, correct count, stop votes, and the
/// failure word (``StepTotals/recoverable`` per rank whose step failed after its gradients
/// were launched, ``StepTotals/fatal`` per rank that cannot go on).
public enum StepTotals {
    public static let count = 4
    public static let recoverable = 1.0
    public static let fatal = 1000.0
}
