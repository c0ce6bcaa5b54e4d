import ArgumentParser
import Headroom

/// `train`'s options for data-parallel training on several processes or machines (as
/// torchrun names them; torchrun's own variables are read too).
struct ProcessOptions: ParsableArguments {
    @Option(help: "Start N worker processes on this machine for data-parallel training (as torchrun --nproc-per-node N).")
    var nprocPerNode: Int?

    @Option(help: "With --nproc-per-node: the rendezvous address rank 0 serves.")
    var masterAddr = "127.0.0.1"

    @Option(help: "With --nproc-per-node: the rendezvous port rank 0 serves.")
    var masterPort = 29500

    @Option(help: "Seconds a data-parallel worker waits for the others at the rendezvous and in each collective before it fails.")
    var distTimeout = 1800.0

    @Option(
        help: ArgumentHelp(
            "on: all-reduce the gradients in buckets of about 25 MB while the last micro-batch's backward still runs; off: after it.",
            valueName: "on|off"))
    var allreduceOverlap = "on"

    @Option(
        help: ArgumentHelp(
            "The collectives of CUDA tensors: nccl, gloo, or auto (NCCL when the workers train on GPUs and it loads, else Gloo). "
                + "CPU tensors always use Gloo.",
            valueName: "auto|gloo|nccl"))
    var distBackend = DistributedBackend.auto
}
