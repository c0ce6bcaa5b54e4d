import CTorch

/// Where a tensor lives.
public enum Device: Hashable, Sendable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    /// PyTorch's spelling: "cpu", "cuda:0".
    public var description: String {
        switch self {
        case .cpu: "cpu"
        case let .cuda(index): "cuda:\(index)"
        }
    }

    public var isCUDA: Bool {
        if case .cuda = self { return true }
        return false
    }

    /// Parses "cpu", "cuda" (device 0) or "cuda:N".
    public init?(parsing text: String) {
        if text == "cpu" {
            self = .cpu
        } else if text == "cuda" {
            self = .cuda(0)
        } else if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 {
            self = .cuda(index)
        } else {
            return nil
        }
    }

    var cValue: ctorch_device {
        switch self {
        case .cpu: ctorch_device(type: Int32(CTORCH_DEVICE_CPU.rawValue), index: -1)
        case let .cuda(index): ctorch_device(type: Int32(CTORCH_DEVICE_CUDA.rawValue), index: Int32(index))
        }
    }

    init(_ value: ctorch_device) {
        self = value.type == Int32(CTORCH_DEVICE_CUDA.rawValue) ? .cuda(Int(max(value.index, 0))) : .cpu
    }
}

extension Device {
    /// Number of CUDA devices; 0 when libtorch_cuda cannot be loaded or there is no GPU.
    public static var cudaDeviceCount: Int {
        var count: Int32 = 0
        return ctorch_cuda_device_count(&count) == 0 ? Int(count) : 0
    }

    public static var isCUDAAvailable: Bool { cudaDeviceCount > 0 }

    /// Why CUDA cannot be used here, or nil when it can.
    public static var cudaUnavailableReason: String? {
        if ctorch_cuda_load() != 0 { return String(cString: ctorch_last_error()) }
        return cudaDeviceCount > 0 ? nil : "libtorch_cuda loaded, but no CUDA device is visible"
    }

    /// The best device on this machine: the first GPU when there is one, else the CPU.
    public static var best: Device { isCUDAAvailable ? .cuda(0) : .cpu }

    /// Checks that the device can be used, with the reason when it cannot.
    public func validate() throws(TorchError) {
        guard case let .cuda(index) = self else { return }
        if let reason = Device.cudaUnavailableReason {
            throw .unavailable("\(self) was asked for, but CUDA is not available: \(reason)")
        }
        let count = Device.cudaDeviceCount
        if index >= count {
            throw .unavailable("\(self) was asked for, but this machine has \(count) CUDA device(s)")
        }
    }

    /// Free and total memory of a CUDA device, in bytes.
    public func cudaMemoryInfo() throws(TorchError) -> (free: Int, total: Int) {
        guard case let .cuda(index) = self else { throw .invalidArgument("\(self) is not a CUDA device") }
        var free: Int64 = 0
        var total: Int64 = 0
        try check(ctorch_cuda_memory_info(Int32(index), &free, &total))
        return (Int(free), Int(total))
    }
}
