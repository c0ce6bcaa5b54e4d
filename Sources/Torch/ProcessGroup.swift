import CTorch

/// A c10d process group: this process's place among `worldSize` processes that meet over
/// a TCPStore rendezvous and run Gloo collectives — and, with `ncclDevice`, NCCL's for CUDA
/// tensors (CPU tensors, the agreements and barriers stay with Gloo).
///
/// Every collective fails with `TorchError.collectiveFailed` — never hangs — when a peer
/// dies (Gloo sees the connection close) or stays silent past `timeoutSeconds`. After such
/// a failure the group is unusable; the process should stop.
///
/// `@unchecked Sendable`: the handles never change after init; c10d serialises collectives
/// on a group itself, and callers use a group from one thread at a time.
public final class ProcessGroup: @unchecked Sendable {
    private let store: OpaquePointer
    let handle: OpaquePointer
    /// A sibling's first group, which owns the store they share.
    private let owner: ProcessGroup?
    public let rank: Int
    public let worldSize: Int
    public let timeoutSeconds: Double
    /// The CUDA device NCCL's collectives are bound to; nil when Gloo runs them all.
    public let ncclDevice: Int?

    public enum Reduction: Sendable { case sum, average }

    /// Joins the rendezvous at `host:port` and builds the Gloo group.
    ///
    /// - Parameters:
    ///   - hostsStore: whether this process serves the TCPStore (rank 0, unless torchrun's
    ///     agent already serves it); a taken port fails here.
    ///   - storePrefix: a key prefix inside the store (torchrun's agent store uses
    ///     "/worker/attempt_N").
    ///   - ncclDevice: CUDA tensors' collectives go through NCCL on this device (every rank
    ///     must ask alike); see ``ncclUnavailableReason``.
    public init(
        host: String, port: Int, rank: Int, worldSize: Int, timeoutSeconds: Double, hostsStore: Bool,
        storePrefix: String? = nil, ncclDevice: Int? = nil
    ) throws(TorchError) {
        guard (1...65535).contains(port) else { throw .invalidArgument("port \(port) is not in 1…65535") }
        guard worldSize >= 1, (0..<worldSize).contains(rank) else { throw .invalidArgument("rank \(rank) is not in a world of \(worldSize)") }
        guard timeoutSeconds > 0 else { throw .invalidArgument("the collective timeout must be positive") }
        let milliseconds = Int64((timeoutSeconds * 1000).rounded(.up))
        var store: OpaquePointer?
        try check(ctorch_store_create(host, UInt16(port), hostsStore, Int32(worldSize), milliseconds, storePrefix, &store))
        guard let store else { throw .failed("libtorch returned no store") }
        var group: OpaquePointer?
        var status = ctorch_process_group_create_gloo(store, Int32(rank), Int32(worldSize), milliseconds, host, &group)
        if status == Int32(CTORCH_OK.rawValue), let group, let ncclDevice {
            status = ctorch_process_group_use_nccl(group, Int32(ncclDevice))
        }
        guard status == Int32(CTORCH_OK.rawValue), let group else {
            let error = lastError(status)
            ctorch_process_group_free(group)
            ctorch_store_free(store)
            throw error
        }
        self.store = store
        self.handle = group
        self.rank = rank
        self.worldSize = worldSize
        self.timeoutSeconds = timeoutSeconds
        self.ncclDevice = ncclDevice
        owner = nil
    }

    /// Why NCCL cannot be used in this process (libtorch_cuda or the NCCL plugin does not
    /// load), or nil when it can.
    public static var ncclUnavailableReason: String? {
        ctorch_nccl_load() == Int32(CTORCH_OK.rawValue) ? nil : String(cString: ctorch_last_error())
    }

    private init(sibling handle: OpaquePointer, of owner: ProcessGroup) {
        store = owner.store
        self.handle = handle
        rank = owner.rank
        worldSize = owner.worldSize
        timeoutSeconds = owner.timeoutSeconds
        ncclDevice = owner.ncclDevice
        self.owner = owner
    }

    /// A second group of the same ranks (every rank must ask for it, with the same `name`):
    /// its collectives run apart from this group's, so the two never interleave. It uses
    /// NCCL where this one does.
    public func sibling(named name: String) throws(TorchError) -> ProcessGroup {
        var out: OpaquePointer?
        try check(ctorch_process_group_create_sibling(store, handle, name, &out))
        guard let out else { throw .failed("libtorch returned no process group") }
        return ProcessGroup(sibling: out, of: self)
    }

    deinit {
        ctorch_process_group_free(handle)
        if owner == nil { ctorch_store_free(store) }
    }

    /// Sums (or averages) `tensors` over all ranks, in place, as one flat bucket per dtype.
    ///
    /// With `bucket` (a contiguous 1-D tensor of the tensors' one dtype and device, large
    /// enough for all of them) the tensors are flattened into it and nothing is allocated.
    public func allReduce(_ tensors: [Tensor], _ reduction: Reduction = .sum, bucket: Tensor? = nil) throws(TorchError) {
        let op = reduction == .sum ? CTORCH_COLLECTIVE_SUM : CTORCH_COLLECTIVE_AVERAGE
        try withHandles(tensors) { (handles, count) throws(TorchError) in
            try withExtendedLifetime(bucket) { () throws(TorchError) in
                try check(ctorch_process_group_all_reduce(handle, handles, count, Int32(op.rawValue), bucket?.handle))
            }
        }
    }

    /// Overwrites `tensors` with rank `root`'s, as one flat bucket per dtype.
    public func broadcast(_ tensors: [Tensor], from root: Int = 0) throws(TorchError) {
        try withHandles(tensors) { (handles, count) throws(TorchError) in
            try check(ctorch_process_group_broadcast(handle, handles, count, Int32(root)))
        }
    }

    /// Every rank's `values` (each rank gives the same count), indexed by rank.
    public func allGather(_ values: [Int64]) throws(TorchError) -> [[Int64]] {
        var out = [Int64](repeating: 0, count: values.count * worldSize)
        try check(ctorch_process_group_all_gather_int64(handle, values, values.count, &out))
        return (0..<worldSize).map { Array(out[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    /// After a failed collective: the ranks that do not answer a roll call through the
    /// rendezvous store within `waitSeconds` (each surviving rank answers when it meets the
    /// failure). Throws when the store itself is gone (its server, rank 0, died).
    public func missingRanks(waitSeconds: Double = 3) throws(TorchError) -> [Int] {
        var answered = [UInt8](repeating: 0, count: worldSize)
        try check(ctorch_store_roll_call(
            store, "headroom/roll-call", Int32(rank), Int32(worldSize), Int64(waitSeconds * 1000), &answered))
        return answered.indices.filter { answered[$0] == 0 }
    }

    /// Returns once every rank has reached it.
    public func barrier() throws(TorchError) {
        try check(ctorch_process_group_barrier(handle))
    }

    private func withHandles(
        _ tensors: [Tensor], _ body: (UnsafePointer<OpaquePointer?>?, Int) throws(TorchError) -> Void
    ) throws(TorchError) {
        let handles: [OpaquePointer?] = tensors.map(\.handle)
        try withExtendedLifetime(tensors) { () throws(TorchError) in
            try handles.withUnsafeBufferPointer { (buffer) throws(TorchError) in try body(buffer.baseAddress, buffer.count) }
        }
    }
}
