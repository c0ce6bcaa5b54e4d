public import Torch

/// The arithmetic of the forward and backward passes. Weights and optimiser state stay
/// float32 under autocast (as PyTorch's mixed precision), and are float64 only in fp64.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case fp32
    /// bfloat16 autocast: float32's range, no loss scaling needed.
    case bf16
    /// float16 autocast with a dynamic loss scale (CUDA).
    case fp16
    /// float64 weights and arithmetic throughout: many times slower, for checking that two
    /// ways of computing a step are the same step to rounding (the tests' exactness checks).
    case fp64

    /// What `auto` means on a device: bf16 on CUDA; on a CPU, bf16 where the processor
    /// has native bf16 arithmetic (AVX-512 BF16 or AMX: measured 2.2× faster than fp32
    /// for resnet18 at 224 px on such a CPU) and fp32 elsewhere, where bf16 autocast falls
    /// back to slow generic kernels (4–15× slower on AVX2).
    public static func automatic(for device: Device, cpuFlags: String? = nil) -> Precision {
        if device.isCUDA { return .bf16 }
        let flags = cpuFlags.map(CPUFlags.parse) ?? CPUFlags.current
        return flags.contains("avx512_bf16") || flags.contains("amx_bf16") ? .bf16 : .fp32
    }

    /// The autocast type, nil for plain float32.
    public var autocastType: DType? {
        switch self {
        case .fp32, .fp64: nil
        case .bf16: .bfloat16
        case .fp16: .float16
        }
    }

    /// The type of the weights, the gradients, the optimiser state and the loss.
    public var parameterType: DType { self == .fp64 ? .float64 : .float32 }
}
