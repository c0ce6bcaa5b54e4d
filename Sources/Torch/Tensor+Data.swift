import CTorch

extension Tensor {
    /// The elements in row-major order (copied to the host; synchronises with the device).
    public func array<Element: TensorElement>(of type: Element.Type = Element.self) throws(TorchError) -> [Element] {
        guard dtype == Element.dtype else {
            throw .invalidArgument("tensor holds \(dtype), not \(Element.dtype); convert it with to(dtype:) first")
        }
        let count = count
        var status: Int32 = 0
        let values = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = ctorch_tensor_copy_to_host(handle, buffer.baseAddress, count * Element.dtype.elementSize)
            initialized = status == 0 ? count : 0
        }
        try check(status)
        return values
    }

    /// The raw bytes, row-major (copied to the host; synchronises with the device).
    public func bytes() throws(TorchError) -> [UInt8] {
        let size = count * dtype.elementSize
        var status: Int32 = 0
        let values = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            status = ctorch_tensor_copy_to_host(handle, buffer.baseAddress, size)
            initialized = status == 0 ? size : 0
        }
        try check(status)
        return values
    }

    /// The single element as a Double (synchronises with the device).
    public func item() throws(TorchError) -> Double {
        var value = 0.0
        try check(ctorch_tensor_item_double(handle, &value))
        return value
    }

    /// The single element as an Int (synchronises with the device).
    public func itemInt() throws(TorchError) -> Int {
        var value: Int64 = 0
        try check(ctorch_tensor_item_int64(handle, &value))
        return Int(value)
    }

    /// Direct access to the bytes of a contiguous CPU tensor, to fill or read it without a copy.
    public func withUnsafeMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(TorchError) -> R
    ) throws(TorchError) -> R {
        guard isContiguous() else { throw .invalidArgument("withUnsafeMutableBytes needs a contiguous tensor") }
        var pointer: UnsafeMutableRawPointer?
        try check(ctorch_tensor_data_ptr(handle, &pointer))
        return try body(UnsafeMutableRawBufferPointer(start: pointer, count: count * dtype.elementSize))
    }
}
