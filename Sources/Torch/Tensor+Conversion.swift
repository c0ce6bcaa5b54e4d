import CTorch

extension Tensor {
    /// The tensor on `device` and/or as `dtype`; the same tensor when nothing changes.
    public func to(device: Device? = nil, dtype: DType? = nil, nonBlocking: Bool = false) throws(TorchError) -> Tensor {
        let target = device ?? self.device
        try target.validate()
        return try Tensor.make { ctorch_tensor_to(handle, dtype?.rawValue ?? -1, target.cValue, nonBlocking, $0) }
    }

    /// The tensor laid out contiguously in `format` (itself when it already is).
    public func contiguous(_ format: MemoryFormat = .contiguous) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_tensor_contiguous(handle, format.rawValue, $0) }
    }

    /// A deep copy with its own storage.
    public func clone() throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_tensor_clone(handle, $0) }
    }

    /// Copies `source` into this tensor (broadcasting, converting dtype and device).
    public func copyInPlace(from source: Tensor) throws(TorchError) {
        try check(ctorch_tensor_copy_(handle, source.handle))
    }

    /// Sets every element to `value`.
    public func fillInPlace(_ value: Double) throws(TorchError) {
        try check(ctorch_tensor_fill_(handle, value))
    }

    /// Overwrites the elements with normal samples.
    public func normalInPlace(mean: Double = 0, std: Double = 1, generator: Generator? = nil) throws(TorchError) {
        try check(ctorch_tensor_normal_(handle, mean, std, generator?.handle))
    }

    /// Overwrites the elements with uniform samples in [low, high).
    public func uniformInPlace(low: Double = 0, high: Double = 1, generator: Generator? = nil) throws(TorchError) {
        try check(ctorch_tensor_uniform_(handle, low, high, generator?.handle))
    }
}
