import CTorch

/// Runs `segment` on `inputs` without keeping the activations inside it: only the inputs are
/// saved, and backward runs `segment` again, with gradients, to differentiate `inputs` and
/// `parameters` (activation checkpointing, `torch.utils.checkpoint` with `use_reentrant`).
///
/// `parameters` are the trainable leaf tensors `segment` uses directly: they receive
/// gradients even when no input needs one. A tensor computed by the caller's graph (a
/// statistic, say) must be one of `inputs` and read from the array `segment` is given: the
/// recompute gets detached copies, so it never runs the caller's graph a second time.
/// The recompute sees the random state and autocast settings the forward saw, and runs with
/// ``isRecomputingCheckpoint`` set so layers with running state (BatchNorm) update it once.
/// Outside gradient recording this is a plain call.
public func checkpoint(
    _ inputs: [Tensor], parameters: [Tensor], _ segment: @escaping ([Tensor]) throws(TorchError) -> Tensor
) throws(TorchError) -> Tensor {
    let context = Unmanaged.passRetained(Segment(segment)).toOpaque()
    let inputHandles: [OpaquePointer?] = inputs.map(\.handle)
    let parameterHandles: [OpaquePointer?] = parameters.map(\.handle)
    return try withExtendedLifetime((inputs, parameters)) { () throws(TorchError) in
        try Tensor.make { out in
            inputHandles.withUnsafeBufferPointer { i in
                parameterHandles.withUnsafeBufferPointer { p in
                    ctorch_checkpoint(runSegment, context, releaseSegment, i.baseAddress, i.count, p.baseAddress, p.count, out)
                }
            }
        }
    }
}

/// ``checkpoint(_:parameters:_:)`` for a segment of one input.
public func checkpoint(
    _ input: Tensor, parameters: [Tensor], _ segment: @escaping (Tensor) throws(TorchError) -> Tensor
) throws(TorchError) -> Tensor {
    try checkpoint([input], parameters: parameters) { (inputs) throws(TorchError) in try segment(inputs[0]) }
}

/// Whether this thread is re-running a checkpointed segment inside backward.
public var isRecomputingCheckpoint: Bool { ctorch_checkpoint_is_recomputing() }

/// The Swift closure behind a shim segment, kept alive by the autograd graph.
private final class Segment {
    let body: ([Tensor]) throws(TorchError) -> Tensor
    init(_ body: @escaping ([Tensor]) throws(TorchError) -> Tensor) { self.body = body }
}

private let runSegment: ctorch_segment_fn = { context, inputs, count, output in
    guard let context, let inputs, let output else { return Int32(CTORCH_INVALID_ARGUMENT.rawValue) }
    let segment = Unmanaged<Segment>.fromOpaque(context).takeUnretainedValue()
    let tensors = (0..<count).compactMap { inputs[$0].map(Tensor.init(handle:)) }
    switch Result(catching: { () throws(TorchError) in try segment.body(tensors) }) {
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
