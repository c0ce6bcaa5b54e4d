import ArgumentParser
import Foundation
import Headroom
import Torch

/// Hidden: the Headroom side of bench/train_step.py.
struct BenchmarkStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-step", abstract: "Time training steps on synthetic data (for bench/).", shouldDisplay: false)

    @Option(help: "Samples per step.") var batch = 16
    @Option(help: "Resolution in pixels.") var resolution = 224
    @Option(help: "fp32 or bf16.") var precision = "fp32"
    @Flag(help: "Channels-last.") var channelsLast = false
    @Option(help: "off, on or segments.") var activationCheckpointing: ActivationCheckpointing = .off
    @Option(help: "Stream through a stage in bands, e.g. layer2:8 (every segment checkpointed too).") var streaming: String?
    @Option(help: "Timed steps.") var steps = 5
    @Option(help: "Untimed steps first.") var warmUp = 2
    @Option(help: "Intra-op threads.") var threads: Int?
    @Flag(help: "With --streaming: hold each streamed stage's output whole (less recompute, more memory).")
    var holdStages = false
    @Flag(help: "With --streaming: hold every streamed block's output whole (least recompute, most memory).")
    var holdBlocks = false
    @Option(help: "With --streaming: hold the input of this stage and of each streamed stage after it (layer3: layer2's output alone).")
    var holdFrom: String?
    @Flag(help: "BatchNorm on its running statistics, not trained (StreamingCNN's choice): no statistics passes.")
    var freezeBn = false
    @Option(help: "cpu, cuda or cuda:N.", transform: DeviceRequest.init(argument:)) var device = DeviceRequest.device(.cpu)

    func run() throws {
        if let threads { try Torch.setThreadCount(threads) }
        var benchmark = StepBenchmark()
        benchmark.batch = batch
        benchmark.resolution = resolution
        benchmark.precision = Precision(rawValue: precision) ?? .fp32
        benchmark.channelsLast = channelsLast
        if case .segments(let segments) = activationCheckpointing { benchmark.checkpointedSegments = segments }
        if let streaming {
            let parts = streaming.split(separator: ":")
            guard let through = parts.first.flatMap({ ResNet.Segment(rawValue: String($0)) }),
                let bands = parts.count == 2 ? Int(parts[1]) : 8, bands >= 1
            else { throw ValidationError("--streaming: a stage and bands, e.g. layer2:8") }
            let heldFrom = try holdFrom.map { (name) in
                guard let segment = ResNet.Segment(rawValue: name), segment > .stem else { throw ValidationError("--hold-from: layer1 … layer4") }
                return segment
            }
            benchmark.streaming = ResNet.Streaming(
                through: through, bands: bands, holdsStages: holdStages, holdsBlocks: holdBlocks, heldFrom: heldFrom)
            benchmark.checkpointedSegments = Set(ResNet.Segment.allCases)
        }
        benchmark.freezesBatchNorm = freezeBn
        benchmark.timedSteps = steps
        benchmark.warmUpSteps = warmUp
        benchmark.device = try device.resolve()
        let times = try benchmark.run()
        let predicted = try benchmark.predictedOverhead()
        print("{\"seconds_per_step\": [\(times.map { String($0) }.joined(separator: ", "))], \"predicted_overhead\": \(predicted)}")
    }
}
