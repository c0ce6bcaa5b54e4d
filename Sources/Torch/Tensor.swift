import CTorch

/// An n-dimensional array in libtorch, with autograd.
///
/// A `Tensor` owns one handle from the shim and releases it in `deinit`. Copies of the
/// reference share the tensor, as Python names do; in-place ops (`…InPlace`) are visible
/// through every reference.
///
/// `@unchecked Sendable`: the handle never changes after init, and libtorch's reference
/// counting is atomic, so handing a tensor to another thread is safe; as in PyTorch,
/// mutating one tensor from two threads at once is the caller's to avoid.
public final class Tensor: @unchecked Sendable {
    let handle: OpaquePointer

    /// Takes ownership of a handle at +1.
    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        ctorch_tensor_free(handle)
    }

    /// Runs a shim call that produces one tensor and wraps the result.
    static func make(_ call: (UnsafeMutablePointer<OpaquePointer?>) -> Int32) throws(TorchError) -> Tensor {
        var out: OpaquePointer?
        try check(call(&out))
        guard let out else { throw .failed("libtorch returned no tensor") }
        return Tensor(handle: out)
    }

    /// Number of dimensions.
    public var rank: Int {
        var dim: Int64 = 0
        _ = ctorch_tensor_dim(handle, &dim)  // cannot fail for a live handle
        return Int(dim)
    }

    /// Size of each dimension.
    public var shape: [Int] {
        var sizes = [Int64](repeating: 0, count: rank)
        _ = ctorch_tensor_sizes(handle, &sizes)
        return sizes.map(Int.init)
    }

    /// Step between elements of each dimension, in elements.
    public var strides: [Int] {
        var values = [Int64](repeating: 0, count: rank)
        _ = ctorch_tensor_strides(handle, &values)
        return values.map(Int.init)
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    public var dtype: DType {
        var code: Int32 = 0
        _ = ctorch_tensor_dtype(handle, &code)
        return DType(rawValue: code) ?? .float32
    }

    public var device: Device {
        var value = ctorch_device(type: 0, index: -1)
        _ = ctorch_tensor_device(handle, &value)
        return Device(value)
    }

    /// Whether the elements are laid out contiguously in `format`.
    public func isContiguous(in format: MemoryFormat = .contiguous) -> Bool {
        var result = false
        _ = ctorch_tensor_is_contiguous(handle, format.rawValue, &result)
        return result
    }
}

/// How an NCHW tensor's elements are ordered in memory.
public enum MemoryFormat: Int32, Sendable {
    /// Row-major NCHW.
    case contiguous = 0
    /// NHWC order under NCHW sizes: what cuDNN and oneDNN prefer for convolutions.
    case channelsLast = 1
    /// Whatever the input had.
    case preserve = 2
}

extension Tensor: CustomStringConvertible {
    /// The tensor as PyTorch prints it.
    public var description: String {
        var text: UnsafeMutablePointer<CChar>?
        guard ctorch_tensor_description(handle, &text) == 0, let text else {
            return "Tensor(\(shape), \(dtype), \(device))"
        }
        defer { ctorch_string_free(text) }
        return String(cString: text)
    }
}
