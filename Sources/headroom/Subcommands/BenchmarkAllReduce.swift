import ArgumentParser
import Foundation
import Headroom
import Torch

/// Hidden: the Headroom side of bench/distributed.py — the step's gradient all-reduce alone,
/// `--elements` float32 gradient values (resnet18: 11,689,512) in the step's 25 MB buckets, over Gloo
/// (or NCCL: `--device cuda --dist-backend nccl`, which also runs at `--nproc-per-node 1`).
struct BenchmarkAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-allreduce", abstract: "Time the gradient all-reduce (for bench/).", shouldDisplay: false)

    @Option(help: "float32 values in the bucket.") var elements = 11_689_512
    @Option(help: "Timed all-reduces (after 3 untimed).") var iterations = 20
    @Option(help: "Start N workers on this machine (else the torchrun variables apply).") var nprocPerNode = 2
    @Option(help: "The rendezvous port.") var masterPort = 29500
    @Option(help: "Intra-op threads per worker (1: as each of 2 training workers on 2 cores).") var threads = 1
    @Option(help: "Where the gradients live: cpu, cuda (each worker its local rank's GPU).") var device = "cpu"
    @Option(help: "auto, gloo or nccl, as train's.") var distBackend = DistributedBackend.gloo

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if environment["RANK"] == nil {
            let launcher = LocalLauncher(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                arguments: Array(CommandLine.arguments.dropFirst()), count: nprocPerNode, masterPort: masterPort)
            switch Result(catching: { () throws(LocalLauncher.LaunchError) in try launcher.run() }) {
            case .success: return
            case let .failure(error):
                printError("headroom benchmark-allreduce: \(error)")
                throw ExitCode(1)
            }
        }
        guard let worker = try TorchrunEnvironment.read(environment) else { return }
        try Torch.setThreadCount(threads)
        guard let request = DeviceRequest(parsing: device) else { throw ValidationError("--device must be \(DeviceRequest.accepted)") }
        let target = try request.resolve(localRank: worker.localRank)
        let parallel = try DataParallel.join(worker, timeoutSeconds: 120, backend: distBackend, device: target)
        // Twenty parameters of one model's total, their gradients views of the reducer's
        // buckets, all-reduced as a step's are (the buckets launched together, then waited for).
        let sizes = evenSplit(elements, into: 20)
        let parameters = try sizes.map { try Tensor.zeros([$0], dtype: .float32, device: target).requiringGradient() }
        let reducer = try GradientReducer(group: parallel.group.sibling(named: "headroom/gradients"), parameters: parameters)
        try reducer.attachGradients()
        for parameter in parameters { try parameter.grad!.fillInPlace(1.0 / Double(worker.worldSize)) }
        for _ in 0..<3 { try reducer.finish(keepingSums: true) }
        try parallel.group.barrier()
        var seconds: [Double] = []
        for _ in 0..<iterations {
            let start = Date()
            try reducer.finish(keepingSums: true)
            seconds.append(Date().timeIntervalSince(start))
        }
        try parallel.group.barrier()
        if worker.rank == 0 {
            let sorted = seconds.sorted()
            let backend = parallel.group.ncclDevice == nil ? "gloo" : "nccl"
            print("{\"elements\": \(elements), \"world_size\": \(worker.worldSize), \"device\": \"\(target)\", \"backend\": \"\(backend)\", \"median_s\": \(sorted[sorted.count / 2]), \"min_s\": \(sorted[0])}")
        }
    }
}
