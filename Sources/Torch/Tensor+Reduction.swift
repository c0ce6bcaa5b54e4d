import CTorch

enum ReduceOp: Int32 {
    case sum = 0, mean, amax, amin
}

extension Tensor {
    func reduce(_ op: ReduceOp, _ dims: [Int], keepDims: Bool) throws(TorchError) -> Tensor {
        let axes = dims.map(Int64.init)
        return try Tensor.make { ctorch_reduce(op.rawValue, handle, axes, axes.count, keepDims, $0) }
    }

    /// Sum over `dims` (every dimension when empty).
    public func sum(dims: [Int] = [], keepDims: Bool = false) throws(TorchError) -> Tensor {
        try reduce(.sum, dims, keepDims: keepDims)
    }

    /// Mean over `dims` (every dimension when empty).
    public func mean(dims: [Int] = [], keepDims: Bool = false) throws(TorchError) -> Tensor {
        try reduce(.mean, dims, keepDims: keepDims)
    }

    /// Largest value over `dims` (every dimension when empty).
    public func max(dims: [Int] = [], keepDims: Bool = false) throws(TorchError) -> Tensor {
        try reduce(.amax, dims, keepDims: keepDims)
    }

    /// Smallest value over `dims` (every dimension when empty).
    public func min(dims: [Int] = [], keepDims: Bool = false) throws(TorchError) -> Tensor {
        try reduce(.amin, dims, keepDims: keepDims)
    }

    /// Index of the largest value along `dim`.
    public func argmax(dim: Int, keepDims: Bool = false) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_argmax(handle, Int64(dim), keepDims, $0) }
    }

    /// The `k` largest (or smallest) values along `dim`, and where they are.
    public func topk(
        _ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true
    ) throws(TorchError) -> (values: Tensor, indices: Tensor) {
        var values: OpaquePointer?
        var indices: OpaquePointer?
        try check(ctorch_topk(handle, Int64(k), Int64(dim), largest, sorted, &values, &indices))
        return (Tensor(handle: values!), Tensor(handle: indices!))
    }

    /// How often each value occurs in this 1-D tensor of non-negative integers (`torch.bincount`).
    public func bincount(minLength: Int = 0) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_bincount(handle, Int64(minLength), $0) }
    }

    public func softmax(dim: Int) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_softmax(handle, Int64(dim), $0) }
    }

    public func logSoftmax(dim: Int) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_log_softmax(handle, Int64(dim), $0) }
    }
}
