import CTorch

extension Tensor {
    /// A tensor filled with `value`.
    public static func full(
        _ shape: [Int], value: Double, dtype: DType = .float32, device: Device = .cpu
    ) throws(TorchError) -> Tensor {
        let sizes = shape.map(Int64.init)
        return try make { ctorch_full(sizes, sizes.count, value, dtype.rawValue, device.cValue, $0) }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try full(shape, value: 0, dtype: dtype, device: device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try full(shape, value: 1, dtype: dtype, device: device)
    }

    /// Zeros shaped and laid out like `other` (same dtype, device and memory format):
    /// what gradients and optimiser state need, so a channels-last weight gets channels-last state.
    public static func zeros(like other: Tensor) throws(TorchError) -> Tensor {
        try make { ctorch_zeros_like(other.handle, $0) }
    }

    /// An uninitialised tensor.
    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        let sizes = shape.map(Int64.init)
        return try make { ctorch_empty(sizes, sizes.count, dtype.rawValue, device.cValue, $0) }
    }

    /// Values `start, start + step, …` below `end`.
    public static func arange(
        _ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64, device: Device = .cpu
    ) throws(TorchError) -> Tensor {
        try make { ctorch_arange(start, end, step, dtype.rawValue, device.cValue, $0) }
    }

    /// Standard normal samples, from `generator` when given.
    public static func randn(
        _ shape: [Int], dtype: DType = .float32, device: Device = .cpu, generator: Generator? = nil
    ) throws(TorchError) -> Tensor {
        let sizes = shape.map(Int64.init)
        return try make { ctorch_randn(sizes, sizes.count, dtype.rawValue, device.cValue, generator?.handle, $0) }
    }

    /// Uniform samples in [0, 1), from `generator` when given.
    public static func rand(
        _ shape: [Int], dtype: DType = .float32, device: Device = .cpu, generator: Generator? = nil
    ) throws(TorchError) -> Tensor {
        let sizes = shape.map(Int64.init)
        return try make { ctorch_rand(sizes, sizes.count, dtype.rawValue, device.cValue, generator?.handle, $0) }
    }

    /// A CPU tensor holding a copy of `values` in row-major order.
    public convenience init<Element: TensorElement>(_ values: [Element], shape: [Int]) throws(TorchError) {
        let expected = shape.reduce(1, *)
        guard expected == values.count else {
            throw .invalidArgument("\(values.count) values cannot fill shape \(shape) (\(expected) elements)")
        }
        let sizes = shape.map(Int64.init)
        var out: OpaquePointer?
        let status = values.withUnsafeBytes {
            ctorch_tensor_from_data($0.baseAddress, $0.count, sizes, sizes.count, Element.dtype.rawValue, &out)
        }
        try check(status)
        self.init(handle: out!)
    }

    /// A CPU tensor holding a copy of raw row-major bytes of `dtype` (a file's tensor data).
    public convenience init(copying bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws(TorchError) {
        let sizes = shape.map(Int64.init)
        var out: OpaquePointer?
        try check(ctorch_tensor_from_data(bytes.baseAddress, bytes.count, sizes, sizes.count, dtype.rawValue, &out))
        self.init(handle: out!)
    }

    /// A one-dimensional CPU tensor holding a copy of `values`.
    public convenience init<Element: TensorElement>(_ values: [Element]) throws(TorchError) {
        try self.init(values, shape: [values.count])
    }

    /// A 0-dimensional CPU tensor.
    public convenience init<Element: TensorElement>(scalar value: Element) throws(TorchError) {
        try self.init([value], shape: [])
    }

    /// A CPU tensor over memory the caller hands over, without copying it.
    ///
    /// `deallocate` runs once libtorch no longer needs the memory (which may be after this
    /// tensor is gone, when views of it live on).
    public convenience init(
        bytesNoCopy bytes: UnsafeMutableRawPointer, shape: [Int], dtype: DType,
        deallocate: @escaping @Sendable () -> Void
    ) throws(TorchError) {
        let sizes = shape.map(Int64.init)
        let box = Unmanaged.passRetained(DeallocatorBox(deallocate)).toOpaque()
        var out: OpaquePointer?
        let status = ctorch_tensor_from_blob(
            bytes, sizes, sizes.count, dtype.rawValue,
            { context in Unmanaged<DeallocatorBox>.fromOpaque(context!).takeRetainedValue().run() },
            box, &out)
        if status != 0 {
            Unmanaged<DeallocatorBox>.fromOpaque(box).release()
            throw lastError(status)
        }
        self.init(handle: out!)
    }
}

private final class DeallocatorBox {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// A seeded random generator for reproducible initialisation and sampling (CPU).
public final class Generator: @unchecked Sendable {
    // @unchecked: libtorch locks the generator's mutex inside every sampling op.
    let handle: OpaquePointer

    public init(seed: UInt64) throws(TorchError) {
        var out: OpaquePointer?
        try check(ctorch_generator_new(seed, &out))
        handle = out!
    }

    deinit {
        ctorch_generator_free(handle)
    }
}
