public import Torch

/// `--precision` as asked: a precision, or `auto` for the device's faster one.
public enum PrecisionChoice: String, Sendable, Codable, CaseIterable {
    case auto, fp32, bf16, fp16, fp64

    /// The precision this choice means on `device`.
    public func resolve(on device: Device) -> Precision {
        switch self {
        case .auto: Precision.automatic(for: device)
        case .fp32: .fp32
        case .bf16: .bf16
        case .fp16: .fp16
        case .fp64: .fp64
        }
    }
}
