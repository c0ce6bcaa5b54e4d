import CTorch

/// The parameters' gradients all-reduced (summed) in buckets while backward still runs, as
/// PyTorch's DDP does: buckets of about `bucketBytes` in reverse order of the parameters,
/// each launched as soon as its gradients are final, strictly in order so that every rank
/// launches the same sequence.
///
/// Use a group of its own (``ProcessGroup/sibling(named:)``): its collectives are in flight
/// while the model's other collectives (synchronised BatchNorm) run. Arm it before the
/// backward whose gradients are final (a step's last micro-batch); ``finish(keepingSums:)``
/// launches what is left and waits. Once anything is launched every rank must finish, so a
/// failure after that point is finished, not retried alone.
public final class GradientReducer: @unchecked Sendable {
    // @unchecked: the shim locks its state; libtorch's autograd calls it from backward.
    private let handle: OpaquePointer
    public let group: ProcessGroup
    private let parameters: [Tensor]
    /// Where this step's buckets are.
    public private(set) var state = State.idle

    public enum State: Sendable {
        /// Nothing launched; backward launches nothing.
        case idle
        /// Backward launches buckets as their gradients become final.
        case armed
        /// Every bucket was all-reduced.
        case finished
    }

    public init(group: ProcessGroup, parameters: [Tensor], bucketBytes: Int = 25 << 20) throws(TorchError) {
        let handles: [OpaquePointer?] = parameters.map(\.handle)
        var out: OpaquePointer?
        try withExtendedLifetime(parameters) { () throws(TorchError) in
            try handles.withUnsafeBufferPointer { (buffer) throws(TorchError) in
                try check(ctorch_gradient_reducer_create(group.handle, buffer.baseAddress, buffer.count, Int64(bucketBytes), &out))
            }
        }
        guard let out else { throw .failed("libtorch returned no gradient reducer") }
        handle = out
        self.group = group
        self.parameters = parameters
    }

    deinit { ctorch_gradient_reducer_free(handle) }

    /// Zeroes the buckets and makes every gradient a view of its place in them, so that
    /// backward accumulates into them and nothing is copied (call after the gradients were
    /// cleared, before a step's first backward).
    public func attachGradients() throws(TorchError) {
        try check(ctorch_gradient_reducer_attach(handle))
        state = .idle
    }

    /// The next backward's final gradients launch the buckets.
    public func arm() throws(TorchError) {
        try check(ctorch_gradient_reducer_arm(handle))
        state = .armed
    }

    /// Disarms; only while nothing is launched (``launched`` is 0).
    public func disarm() throws(TorchError) {
        try check(ctorch_gradient_reducer_disarm(handle))
        state = .idle
    }

    /// Buckets launched since arming, and how many there are.
    public func progress() throws(TorchError) -> (launched: Int, buckets: Int) {
        var launched: Int64 = 0
        var buckets: Int64 = 0
        try check(ctorch_gradient_reducer_progress(handle, &launched, &buckets))
        return (Int(launched), Int(buckets))
    }

    /// Launches every bucket not yet launched (all of them when not armed), waits for all,
    /// and with `keepingSums` writes the sums over the ranks into the gradients (a no-op
    /// for attached gradients, which are the buckets).
    public func finish(keepingSums: Bool) throws(TorchError) {
        state = .finished  // failed or not: nothing is left in flight that could be retried
        try check(ctorch_gradient_reducer_finish(handle, keepingSums))
    }
}
