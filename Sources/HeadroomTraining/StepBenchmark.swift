import Foundation
public import HeadroomExecution
public import HeadroomModels
public import Torch
import TorchNN
import TorchOptim

/// Times training steps on synthetic data through the trainer's own step — the Headroom
/// side of the benchmarks against PyTorch (bench/).
public struct StepBenchmark: Sendable {
    public var architecture: ResNet.Architecture = .resnet18
    public var batch = 16
    public var resolution = 224
    public var precision: Precision = .fp32
    public var channelsLast = false
    public var checkpointedSegments: Set<ResNet.Segment> = []
    public var streaming: ResNet.Streaming?
    /// `--freeze-bn`: every BatchNorm on its running statistics.
    public var freezesBatchNorm = false
    public var device: Device = .cpu
    public var warmUpSteps = 2
    public var timedSteps = 5

    public init() {}

    /// The extra compute the plan predicts for these settings, a fraction of a plain step:
    /// what a measured step's time is held against.
    public func predictedOverhead() throws -> Double {
        let model = try ResNet(architecture, classCount: 1000)
        if freezesBatchNorm { model.freezeBatchNorm() }
        return model.recomputeOverhead(of: checkpointedSegments, streaming: streaming, resolution: resolution)
    }

    /// Seconds per optimiser step, one entry per timed step.
    public func run() throws -> [Double] {
        let generator = try Generator(seed: 0)
        let model = try ResNet(architecture, classCount: 1000, generator: generator)
        try model.move(to: device)
        if freezesBatchNorm { model.freezeBatchNorm() }
        if channelsLast { try model.setMemoryFormat(.channelsLast) }
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
        let step = try TrainingStep(
            model: model, optimizer: optimizer, device: device, precision: precision, memoryFormat: channelsLast ? .channelsLast : .contiguous)
        let images = try (Tensor.rand([batch, 3, resolution, resolution], generator: generator) * 255).to(dtype: .uint8)
        let labels = try (Tensor.rand([batch], generator: generator) * 1000).floor().to(dtype: .int64)
        var times: [Double] = []
        for index in 0..<(warmUpSteps + timedSteps) {
            let start = Date()
            let result = try step.accumulate(images: images, labels: labels, weight: 1, recomputing: checkpointedSegments, streaming: streaming)
            try step.step()
            _ = try result.lossSum.item()  // host sync: the step is finished when timed
            if index >= warmUpSteps { times.append(Date().timeIntervalSince(start)) }
        }
        return times
    }
}
