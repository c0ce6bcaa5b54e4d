import CTorch

extension Tensor {
    /// The same elements in a new shape; one size may be -1. A view when the layout allows.
    public func reshaped(_ shape: [Int]) throws(TorchError) -> Tensor {
        let sizes = shape.map(Int64.init)
        return try Tensor.make { ctorch_reshape(handle, sizes, sizes.count, $0) }
    }

    /// Dimensions in a new order.
    public func permuted(_ dims: [Int]) throws(TorchError) -> Tensor {
        let order = dims.map(Int64.init)
        return try Tensor.make { ctorch_permute(handle, order, order.count, $0) }
    }

    /// Dimensions `start...end` merged into one.
    public func flattened(from start: Int = 0, through end: Int = -1) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_flatten(handle, Int64(start), Int64(end), $0) }
    }

    /// A size-1 dimension inserted at `dim`.
    public func unsqueezed(at dim: Int) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_unsqueeze(handle, Int64(dim), $0) }
    }

    /// Joins tensors along an existing dimension.
    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws(TorchError) -> Tensor {
        let handles: [OpaquePointer?] = tensors.map(\.handle)
        return try withExtendedLifetime(tensors) { () throws(TorchError) -> Tensor in
            try Tensor.make { ctorch_cat(handles, handles.count, Int64(dim), $0) }
        }
    }

    /// Joins tensors along a new dimension.
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws(TorchError) -> Tensor {
        let handles: [OpaquePointer?] = tensors.map(\.handle)
        return try withExtendedLifetime(tensors) { () throws(TorchError) -> Tensor in
            try Tensor.make { ctorch_stack(handles, handles.count, Int64(dim), $0) }
        }
    }

    /// The view `self[start..<end]` (stepping by `step`) along `dim`.
    public func slice(dim: Int, _ range: Range<Int>, step: Int = 1) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_slice(handle, Int64(dim), Int64(range.lowerBound), Int64(range.upperBound), Int64(step), $0) }
    }

    /// The entries at `index` along `dim`, with that dimension removed.
    public func select(dim: Int, index: Int) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_select(handle, Int64(dim), Int64(index), $0) }
    }

    /// The entries whose positions along `dim` the int64 tensor `indices` lists.
    public func indexSelect(dim: Int, indices: Tensor) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_index_select(handle, Int64(dim), indices.handle, $0) }
    }

    /// The tensor reversed along `dims`.
    public func flipped(_ dims: [Int]) throws(TorchError) -> Tensor {
        let axes = dims.map(Int64.init)
        return try Tensor.make { ctorch_flip(handle, axes, axes.count, $0) }
    }
}
