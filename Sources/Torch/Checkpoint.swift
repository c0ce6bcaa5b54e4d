import CTorch

/// Runs `segment` on `input` without keeping the activations inside it: only `input` is
/// saved, and backward runs `segment` again, with gradients, to differentiate `input` and
/// `parameters` (activation checkpointing, `torch.utils.checkpoint` with `use_reentrant`).
///
/// The recompute sees the random state and autocast settings the forward saw, and runs with
/// ``isRecomputingCheckpoint`` set so layers with running state (BatchNorm) update it once.
/// `parameters` are the trainable tensors `segment` uses: they receive gradients even when
/// `input` needs none. Outside gradient recording this is a plain call.
public func checkpoint(
    _ input: Tensor, parameters: [Tensor], _ segment: @escaping (Tensor) throws(TorchError) -> Tensor
) throws(TorchError) -> Tensor {
    let context = Unmanaged.passRetained(Segment(segment)).toOpaque()
    let handles: [OpaquePointer?] = parameters.map(\.handle)
    return try withExtendedLifetime(parameters) { () throws(TorchError) in
        try Tensor.make { out in
            handles.withUnsafeBufferPointer {
                ctorch_checkpoint(runSegment, context, releaseSegment, input.handle, $0.baseAddress, $0.count, out)
            }
        }
    }
}

/// Whether this thread is re-running a checkpointed segment inside backward.
public var isRecomputingCheckpoint: Bool { ctorch_checkpoint_is_recomputing() }

/// The Swift closure behind a shim segment, kept alive by the autograd graph.
private final class Segment {
    let body: (Tensor) throws(TorchError) -> Tensor
    init(_ body: @escaping (Tensor) throws(TorchError) -> Tensor) { self.body = body }
}

private let runSegment: ctorch_segment_fn = { context, input, output in
    guard let context, let input, let output else { return Int32(CTORCH_INVALID_ARGUMENT.rawValue) }
    let segment = Unmanaged<Segment>.fromOpaque(context).takeUnretainedValue()
    switch Result(catching: { () throws(TorchError) in try segment.body(Tensor(handle: input)) }) {
    case .success(let result):
        return ctorch_tensor_retain(result.handle, output)
    case .failure(let error):
        ctorch_set_last_error(error.status, error.message)
        return error.status
    }
}

private let releaseSegment: ctorch_release_fn = { context in
    guard let context else { return }
    Unmanaged<Segment>.fromOpaque(context).release()
}
