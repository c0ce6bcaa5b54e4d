public import Torch

extension MemoryFormat {
    /// What `--channels-last` left unset means on a device: channels-last where its
    /// convolutions are faster that way, contiguous elsewhere.
    ///
    /// On a CPU with AVX-512, oneDNN's channels-last convolutions are faster: measured
    /// here, resnet18 at 16 × 224 px trained at 0.83× the step time in fp32 and about
    /// 0.82× in bf16 (PyTorch alike). On AVX2 they gave no gain (`anchors/peer.md`). On
    /// CUDA, channels-last is what tensor cores want in bf16 and fp16.
    public static func automatic(for device: Device, precision: Precision, cpuFlags: String? = nil) -> MemoryFormat {
        if device.isCUDA { return precision.autocastType == nil ? .contiguous : .channelsLast }
        // oneDNN has no float64 convolutions: channels-last would only add layout copies.
        if precision == .fp64 { return .contiguous }
        let flags = cpuFlags.map(CPUFlags.parse) ?? CPUFlags.current
        return flags.contains("avx512f") ? .channelsLast : .contiguous
    }

    /// The memory format a run uses: the one asked for (`--channels-last` true or false),
    /// else the device's faster one.
    public static func resolve(channelsLast: Bool?, device: Device, precision: Precision) -> MemoryFormat {
        switch channelsLast {
        case true?: .channelsLast
        case false?: .contiguous
        case nil: automatic(for: device, precision: precision)
        }
    }
}
