import ArgumentParser
import Headroom

/// `train` and `plan`'s options, group "Model and BatchNorm": the network, where its weights start,
/// and how its BatchNorm trains.
struct ModelOptions: ParsableArguments {
    @Option(help: "The network.")
    var model: ResNet.Architecture = .resnet18

    @Option(help: """
        Start from these weights: `imagenet` (torchvision's best ImageNet weights for --model, from PyTorch's cache \
        ~/.cache/torch/hub/checkpoints or downloaded into it), a torchvision tag (IMAGENET1K_V1, IMAGENET1K_V2, or as torchvision spells it: ResNet50_Weights.IMAGENET1K_V2), \
        or a file (safetensors, or a torchvision .pth). The classifier is re-initialised if its classes differ.
        """)
    var weights: String?

    @Flag(help: "Train only the classifier on top of --weights.")
    var freezeBackbone = false

    @Flag(name: .customLong("freeze-bn"), help: "BatchNorm in evaluation mode while training: running statistics, never updated.")
    var freezeBatchNorm = false

    @Flag(
        name: .customLong("sync-bn"),
        help: ArgumentHelp(
            "Several processes: BatchNorm normalises with the statistics of every rank's micro-batch (SyncBatchNorm).",
            discussion: "The ranks agree on their micro-batches and memory plan every step; a rank that runs out of memory inside one tells the others through the same collectives, and all repeat the step smaller. No effect in a single process."))
    var syncBatchNorm = false
}
