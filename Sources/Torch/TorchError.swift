import CTorch

/// Every failure that comes out of libtorch.
///
/// Out-of-memory is its own case so that callers (the trainer's OOM recovery above all)
/// can catch it from any op without matching on message text.
public enum TorchError: Error, Equatable, CustomStringConvertible {
    /// An allocation failed. `requestedBytes` is what the failing allocation asked for,
    /// when libtorch said so.
    case outOfMemory(requestedBytes: Int?, message: String)
    /// A bad shape, index, value or type, as libtorch reported it.
    case invalidArgument(String)
    /// libtorch has no kernel for this dtype or device.
    case notImplemented(String)
    /// A runtime feature is missing on this machine (CUDA, for instance).
    case unavailable(String)
    /// A rendezvous or collective failed: a peer died or cannot be reached, the timeout
    /// passed, or the rendezvous port is taken. The process group is unusable afterwards.
    case collectiveFailed(String)
    /// Another rank's step failed inside a collective this rank shares with it (synchronised
    /// BatchNorm): this rank drops the attempt too.
    case peerFailed(String)
    /// Any other libtorch error.
    case failed(String)

    public var description: String {
        switch self {
        case let .outOfMemory(bytes, message):
            let asked = bytes.map { " (asked for \(formatBytes($0)))" } ?? ""
            return "out of memory\(asked): \(message)"
        case let .invalidArgument(message): return "invalid argument: \(message)"
        case let .notImplemented(message): return "not implemented: \(message)"
        case let .unavailable(message): return "unavailable: \(message)"
        case let .collectiveFailed(message): return "distributed: \(message)"
        case let .peerFailed(message): return "distributed: \(message)"
        case let .failed(message): return message
        }
    }

    /// The shim status this error came from (for handing it back through a callback).
    var status: Int32 {
        let code = switch self {
        case .outOfMemory: CTORCH_OUT_OF_MEMORY
        case .invalidArgument: CTORCH_INVALID_ARGUMENT
        case .notImplemented: CTORCH_NOT_IMPLEMENTED
        case .unavailable: CTORCH_UNAVAILABLE
        case .collectiveFailed: CTORCH_COLLECTIVE_FAILED
        case .peerFailed: CTORCH_PEER_FAILED
        case .failed: CTORCH_ERROR
        }
        return Int32(code.rawValue)
    }

    /// libtorch's message, without this type's prefix.
    var message: String {
        switch self {
        case let .outOfMemory(_, message), let .invalidArgument(message), let .notImplemented(message),
            let .unavailable(message), let .collectiveFailed(message), let .peerFailed(message), let .failed(message):
            message
        }
    }

    /// Whether this error is an out-of-memory error.
    public var isOutOfMemory: Bool {
        if case .outOfMemory = self { return true }
        return false
    }
}

/// The one choke point that turns a shim status into a thrown error.
@inline(__always)
func check(_ status: Int32) throws(TorchError) {
    if status != Int32(CTORCH_OK.rawValue) { throw lastError(status) }
}

func lastError(_ status: Int32) -> TorchError {
    let message = String(cString: ctorch_last_error())
    switch UInt32(bitPattern: status) {
    case CTORCH_OUT_OF_MEMORY.rawValue:
        let bytes = ctorch_last_error_requested_bytes()
        return .outOfMemory(requestedBytes: bytes >= 0 ? Int(bytes) : nil, message: message)
    case CTORCH_INVALID_ARGUMENT.rawValue: return .invalidArgument(message)
    case CTORCH_NOT_IMPLEMENTED.rawValue: return .notImplemented(message)
    case CTORCH_UNAVAILABLE.rawValue: return .unavailable(message)
    case CTORCH_COLLECTIVE_FAILED.rawValue: return .collectiveFailed(message)
    case CTORCH_PEER_FAILED.rawValue: return .peerFailed(message)
    default: return .failed(message)
    }
}

/// "1.50 GiB", "512 MiB", "40 B": sizes as people read them.
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while abs(value) >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    let hundredths = Int((value * 100).rounded())
    let fraction = abs(hundredths % 100)
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) \(units[unit])"
}
