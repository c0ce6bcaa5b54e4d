public import Torch

/// The arithmetic of the forward and backward passes. Weights and optimiser state stay
/// float32 in every case (autocast, as PyTorch's mixed precision).
public enum Precision: String, Sendable, CaseIterable, Codable {
    case fp32
    /// bfloat16 autocast: float32's range, no loss scaling needed.
    case bf16
    /// float16 autocast with a dynamic loss scale (CUDA).
    case fp16

    /// What to use when the user says `auto`: bf16 on CUDA, fp32 on CPU. On CPU, bf16
    /// autocast is many times slower than fp32 unless the processor has native bf16
    /// matrix units, and the memory it saves is what the planner exists to manage anyway.
    public static func automatic(for device: Device) -> Precision {
        device.isCUDA ? .bf16 : .fp32
    }

    /// The autocast type, nil for plain float32.
    public var autocastType: DType? {
        switch self {
        case .fp32: nil
        case .bf16: .bfloat16
        case .fp16: .float16
        }
    }
}
