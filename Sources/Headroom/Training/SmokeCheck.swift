public import Torch
import TorchNN
import TorchOptim

/// A one-minute end-to-end check that libtorch, autograd and the optimiser work on this
/// machine: a small CNN learns to tell horizontal from vertical stripes.
///
/// It stands in for `headroom demo` until the trainer exists.
public struct SmokeCheck: Sendable {
    public struct Step: Sendable {
        public var index: Int
        public var loss: Double
    }

    public struct Result: Sendable {
        public var firstLoss: Double
        public var lastLoss: Double
        public var accuracy: Double
        public var steps: Int
    }

    public var steps = 40
    public var batchSize = 16
    public var imageSize = 32
    public var seed: UInt64 = 0

    public init() {}

    public func run(progress: (Step) -> Void = { _ in }) throws(TorchError) -> Result {
        let generator = try Generator(seed: seed)
        let model = Sequential([
            try Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, padding: 1, generator: generator),
            try BatchNorm2d(features: 8), ReLU(), MaxPool2d(kernelSize: 2),
            try Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 3, padding: 1, generator: generator),
            try BatchNorm2d(features: 16), ReLU(), AdaptiveAvgPool2d(outputSize: (1, 1)), Flatten(),
            try Linear(inputFeatures: 16, outputFeatures: 2, generator: generator),
        ])
        let optimizer = try SGD(
            parameters: model.namedParameters().map(\.tensor), learningRate: 0.05, momentum: 0.9)
        var losses: [Double] = []
        for index in 0..<steps {
            let (images, labels) = try stripes(count: batchSize, generator: generator)
            let loss = try model(images).crossEntropy(targets: labels)
            try optimizer.zeroGrad()
            try loss.backward()
            try optimizer.step()
            let value = try loss.item()  // host sync, once per step
            losses.append(value)
            progress(Step(index: index, loss: value))
        }
        model.eval()
        let (images, labels) = try stripes(count: 128, generator: generator)
        let correct = try withoutGradient { () throws(TorchError) in
            try model(images).argmax(dim: 1).eq(labels).sum().itemInt()
        }
        return Result(firstLoss: losses.first ?? 0, lastLoss: losses.last ?? 0, accuracy: Double(correct) / 128, steps: steps)
    }

    /// Noisy images of stripes: label 0 horizontal, 1 vertical, random period and phase.
    func stripes(count: Int, generator: Generator) throws(TorchError) -> (Tensor, Tensor) {
        let size = imageSize
        let labels = try Tensor.rand([count], generator: generator).gt(0.5).to(dtype: .int64)
        let coordinates = try Tensor.arange(0, Double(size), dtype: .float32)
        let rows = try coordinates.reshaped([1, 1, size, 1])
        let columns = try coordinates.reshaped([1, 1, 1, size])
        let frequency = try Tensor.rand([count, 1, 1, 1], generator: generator) * 0.6 + 0.4
        let phase = try Tensor.rand([count, 1, 1, 1], generator: generator) * 6.283
        let isVertical = try labels.to(dtype: .float32).reshaped([count, 1, 1, 1])
        let position = try rows * (1 - isVertical) + columns * isVertical
        let noise = try Tensor.randn([count, 1, size, size], generator: generator) * 0.3
        let images = try triangleWave(position * frequency + phase) + noise
        return (images, labels)
    }

    /// A wave in [-1, 1] with period 2π: enough to draw stripes.
    private func triangleWave(_ x: Tensor) throws(TorchError) -> Tensor {
        let turns = try x / 6.283185307179586
        let fraction = try turns - turns.floor()
        return try (fraction * 4 - 2).abs() - 1
    }
}
