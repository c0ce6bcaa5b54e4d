import ArgumentParser
import Headroom

/// `train` and `plan`'s options, group "Memory, precision and device": the budget and the ladder
/// below the effective batch (micro-batch, checkpointing, streaming), and what runs the step.
struct MemoryOptions: ParsableArguments {
    @Option(
        help: "Memory the run may use: a share of the device (80%) or a size (6GiB, 512MiB). Default 80%.",
        transform: MemoryBudget.init(argument:))
    var memoryBudget: MemoryBudget?

    @Option(help: "Use this micro-batch instead of planning one (out-of-memory recovery still applies).")
    var microBatch: Int?

    @Option(help: ArgumentHelp(
        "Recompute activations in backward instead of keeping them: auto, off, on, or segments (stem,layer1,…,layer4).",
        discussion: "auto: per resolution, only when the largest micro-batch that fits is below --min-micro-batch or one sample does not fit."))
    var activationCheckpointing: ActivationCheckpointing = .auto

    @Option(help: ArgumentHelp(
        "Compute the start of the network in bands of rows, so that memory hardly grows with the image: auto, off, on, or the last stage to stream (stem, layer1, …, layer4).",
        discussion: "auto: only when not one sample fits with every segment checkpointed (needs --activation-checkpointing auto). Exact, BatchNorm included, but each BatchNorm's statistics pass recomputes everything before it: streaming through layer2 costs several times a plain step. plan and the plan line say how much."))
    var streaming: StreamingChoice = .auto

    @Option(help: "The micro-batch below which auto checkpointing is tried first.")
    var minMicroBatch = 8

    @Option(help: "auto, fp32, bf16, fp16 (with a dynamic loss scale) or fp64 (float64 throughout: slow, for exactness checks).")
    var precision: PrecisionChoice = .auto

    @Flag(inversion: .prefixedNo, help: "Lay out activations and weights channels-last, or not (default: where it is faster: CPUs with AVX-512, CUDA in bf16/fp16).")
    var channelsLast: Bool?

    @Option(help: "auto, cpu, cuda or cuda:N.", transform: DeviceRequest.init(argument:))
    var device = DeviceRequest.auto

    @Option(help: "Intra-op threads for libtorch (default: libtorch's choice).")
    var threads: Int?
}
