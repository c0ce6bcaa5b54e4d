import CTorch

extension Tensor {
    /// Whether operations on this tensor are recorded for differentiation.
    public var requiresGradient: Bool {
        var value = false
        _ = ctorch_tensor_requires_grad(handle, &value)
        return value
    }

    /// Marks a leaf tensor as a variable to differentiate with respect to (or not).
    @discardableResult
    public func requiringGradient(_ requires: Bool = true) throws(TorchError) -> Tensor {
        try check(ctorch_tensor_set_requires_grad(handle, requires))
        return self
    }

    /// Back-propagates from this tensor into the `grad` of every leaf it depends on.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) throws(TorchError) {
        try check(ctorch_tensor_backward(handle, gradient?.handle, retainGraph))
    }

    /// The gradient accumulated by `backward`, or nil before the first one.
    public var grad: Tensor? {
        var out: OpaquePointer?
        guard ctorch_tensor_grad(handle, &out) == 0, let out else { return nil }
        return Tensor(handle: out)
    }

    /// Replaces the accumulated gradient; nil drops it (PyTorch's `zero_grad(set_to_none=True)`).
    public func setGrad(_ gradient: Tensor?) throws(TorchError) {
        try check(ctorch_tensor_set_grad(handle, gradient?.handle))
    }

    /// Makes this tensor use `source`'s data, keeping its identity and `requiresGradient`
    /// (PyTorch's `param.data = source`): how a module moves its parameters between devices.
    public func setData(_ source: Tensor) throws(TorchError) {
        try check(ctorch_tensor_set_data(handle, source.handle))
    }

    /// The same data, cut off from the autograd graph.
    public func detached() throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_tensor_detach(handle, $0) }
    }
}

/// Runs `body` with gradient recording off on this thread (PyTorch's `torch.no_grad()`).
public func withoutGradient<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    try withGradient(enabled: false, body)
}

/// Whether operations on this thread record gradients now (PyTorch's `torch.is_grad_enabled()`).
public func isGradientEnabled() -> Bool {
    var enabled = true
    _ = ctorch_is_grad_enabled(&enabled)
    return enabled
}

/// Runs `body` with gradient recording set to `enabled` on this thread, then restores it.
public func withGradient<R, E: Error>(enabled: Bool, _ body: () throws(E) -> R) throws(E) -> R {
    var previous = true
    _ = ctorch_set_grad_enabled(enabled, &previous)
    defer { _ = ctorch_set_grad_enabled(previous, nil) }
    return try body()
}
