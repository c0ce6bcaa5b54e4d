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
        return nativeBFloat16Flag(cpuFlags: cpuFlags) == nil ? .fp32 : .bf16
    }

    /// The flag that gives a CPU native bf16 arithmetic (`amx_bf16`, `avx512_bf16`), or nil.
    static func nativeBFloat16Flag(cpuFlags: String? = nil) -> String? {
        let flags = cpuFlags.map(CPUFlags.parse) ?? CPUFlags.current
        return ["amx_bf16", "avx512_bf16"].first(where: flags.contains)
    }

    /// What `auto` picks on `device` and why, for `doctor` and docs/memory.md's reader.
    public static func automaticChoice(for device: Device, cpuFlags: String? = nil) -> String {
        if device.isCUDA { return "bf16 on \(device) (autocast; fp16 and fp32 on request)" }
        if let flag = nativeBFloat16Flag(cpuFlags: cpuFlags) {
            return "bf16 for training on this CPU: it has native bf16 arithmetic (\(flag)); inference stays fp32 unless --precision"
        }
        return "fp32 on this CPU: it has no native bf16 arithmetic (avx512_bf16 or amx_bf16), where bf16 autocast runs slow generic kernels"
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
