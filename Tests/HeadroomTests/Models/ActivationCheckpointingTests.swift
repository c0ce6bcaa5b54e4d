import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels
@testable import HeadroomExecution

/// A checkpointed ResNet trains exactly as the plain one does, in less memory.
@Suite(.serialized) struct ActivationCheckpointingTests {
    /// A training-mode step (BatchNorm on batch statistics) on a fresh, seeded resnet18:
    /// gradients, then the state after an SGD step.
    func step(checkpointing segments: Set<ResNet.Segment>, precision: Precision) throws -> (gradients: [[Double]], state: [[Double]]) {
        let model = try ResNet(.resnet18, classCount: 5, generator: Generator(seed: 3))
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1, momentum: 0.9)
        let training = try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: precision)
        let images = try (Tensor.rand([4, 3, 64, 64], generator: Generator(seed: 4)) * 255).to(dtype: .uint8)
        try training.accumulate(images: images, labels: Tensor([0, 1, 2, 4] as [Int64]), weight: 1, recomputing: segments)
        let gradients = try model.namedParameters().map { try #require($0.tensor.grad).to(dtype: .float64).array(of: Double.self) }
        try training.step()
        let state = try model.stateDict().map { try $0.tensor.to(dtype: .float64).array(of: Double.self) }
        return (gradients, state)
    }

    @Test func everySegmentCheckpointedGivesTheSameStep() throws {
        let plain = try step(checkpointing: [], precision: .fp64)
        let checkpointed = try step(checkpointing: Set(ResNet.Segment.allCases), precision: .fp64)
        expectClose(checkpointed.gradients, plain.gradients, within: .exactInFloat64)
        // Parameters, running mean/var and num_batches_tracked: BatchNorm updated once.
        expectClose(checkpointed.state, plain.state, within: .exactInFloat64)
    }

    /// The stem in bands (seven here, on a non-square image whose rows do not divide evenly)
    /// against the stem in one piece: the same logits, gradients and running statistics.
    @Test func theBandedStemEqualsTheWholeOne() throws {
        func run(_ segments: Set<ResNet.Segment>) throws -> [[Double]] {
            let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 8))
            try model.move(dtype: .float64)
            let x = try Tensor.randn([2, 3, 202, 136], dtype: .float64, generator: Generator(seed: 9))
            #expect(model.usesBandedStem(inputRows: 202, segments: [.stem, .layer1]))  // 51 output rows: bands of 8
            let logits = try model.forward(x, recomputing: segments)
            try (logits * logits).sum().backward()
            let watched = [logits, try #require(model.conv1.weight.grad), try #require(model.bn1.weight.grad),
                           try #require(model.bn1.bias.grad), model.bn1.runningMean, model.bn1.runningVariance,
                           try model.bn1.batchesTracked.to(dtype: .float64)]
            return try watched.map { try $0.array(of: Double.self) }
        }
        let whole = try run([])
        let banded = try run([.stem, .layer1])
        expectClose(banded, whole, within: .exactInFloat64)
    }

    /// Recomputing a segment runs the same bf16 kernels on the same inputs: the gradients
    /// are the plain network's bit for bit, on any CPU.
    @Test func bf16AutocastCheckpointsToo() throws {
        let plain = try step(checkpointing: [], precision: .bf16)
        let checkpointed = try step(checkpointing: [.layer1, .layer3], precision: .bf16)
        expectClose(checkpointed.gradients, plain.gradients, within: .identical)
    }

    /// Bytes a micro-batch's forward and backward add on top of what the model, optimiser
    /// and accumulated gradients already hold (as for every micro-batch but the first of a
    /// step), measured by the counting allocator.
    func activationPeak(checkpointing segments: Set<ResNet.Segment>, resolution: Int) throws -> Int {
        let model = try ResNet(.resnet18, classCount: 5, generator: Generator(seed: 3))
        let images = try (Tensor.rand([1, 3, resolution, resolution], generator: Generator(seed: 4)) * 255).to(dtype: .uint8)
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1)
        let training = try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .fp32)
        for parameter in optimizer.parameters { try parameter.setGrad(Tensor.zeros(like: parameter)) }
        let before = try Device.cpu.memoryStatistics().liveBytes
        try Device.cpu.resetPeakMemory()
        try training.accumulate(images: images, labels: Tensor([1] as [Int64]), weight: 1, recomputing: segments)
        return try Device.cpu.memoryStatistics().peakBytes - before
    }

    /// Measured on an AMD EPYC: 0.50 of the plain peak with every segment (the stem banded)
    /// and 0.72 with the stem alone under oneDNN's AVX2 kernels, 0.64 with every segment
    /// under its SSE4.1 kernels, whose larger scratch buffers recomputation cannot save.
    /// What is left is a layer1 block's recompute on top of the saved inputs.
    @Test func checkpointingEverySegmentCutsTheActivationPeak() throws {
        let plain = try activationPeak(checkpointing: [], resolution: 384)
        let stem = try activationPeak(checkpointing: [.stem], resolution: 384)
        let all = try activationPeak(checkpointing: Set(ResNet.Segment.allCases), resolution: 384)
        print("activation peak at 384 px: plain \(formatBytes(plain)), stem \(formatBytes(stem)), all \(formatBytes(all))")
        #expect(Double(stem) < 0.9 * Double(plain))
        #expect(Double(all) < 0.75 * Double(plain))
    }

    /// torchvision's model table: resnet18 1.81 GFLOPS (multiply-adds, in its convention) at 224 px, resnet50 4.09.
    @Test func multiplyAddsMatchThePublishedOnes() throws {
        let resnet18 = try ResNet(.resnet18).forwardMultiplyAdds(resolution: 224).values.reduce(0, +)
        let resnet50 = try ResNet(.resnet50).forwardMultiplyAdds(resolution: 224).values.reduce(0, +)
        // Published totals include the classifier (0.5 M and 2 M multiply-adds).
        #expect(abs(resnet18 + 512_000 - 1.81e9) / 1.81e9 < 0.005)
        #expect(abs(resnet50 + 2_048_000 - 4.09e9) / 4.09e9 < 0.005)
        // Recomputing costs one more forward of each segment (the banded stem, four of conv1),
        // of a step of three forwards less conv1's input gradient (its 118,013,952 multiply-adds).
        let model = try ResNet(.resnet18)
        let costs = model.forwardMultiplyAdds(resolution: 224)
        let forward = costs.values.reduce(0, +)
        let step = 3 * forward - 118_013_952
        let overhead = { (segments: Set<ResNet.Segment>, size: Int) in
            model.recomputeOverhead(of: segments, resolution: size, weights: .multiplyAdds)
        }
        #expect(overhead([], 224) == 0)
        #expect(abs(overhead([.layer2], 224) - costs[.layer2]! / step) < 1e-12)
        #expect(abs(overhead(Set(ResNet.Segment.allCases), 224) - (forward + 3 * costs[.stem]!) / step) < 1e-12)
        // The stem alone, or too few rows for two bands (32 px): the stem is recomputed once.
        #expect(abs(overhead([.stem], 224) - costs[.stem]! / step) < 1e-12)
        let small = model.forwardMultiplyAdds(resolution: 32).values.reduce(0, +)
        #expect(abs(overhead(Set(ResNet.Segment.allCases), 32) - small / (3 * small - 2_408_448)) < 1e-12)
    }

    /// Time, not multiply-adds: each convolution's output carries a BatchNorm and ReLU at 160
    /// multiply-adds an element, and conv1 (3 input channels) runs 2.7 times slower
    /// (`bench/layer_costs.py`). At 224 px conv1 makes 64 × 112² outputs from 118,013,952
    /// multiply-adds; each of layer1's four convolutions 64 × 56² from 115,605,504.
    @Test func timeWeightsCountWhatTheEarlyLayersSpend() throws {
        let model = try ResNet(.resnet18)
        let costs = model.forwardCosts(resolution: 224, weights: .measured)
        let stem: Double = 2.7 * 118_013_952 + 160 * 64 * 112 * 112
        let layer1: Double = 4 * (115_605_504 + 160 * 64 * 56 * 56)
        #expect(abs(costs[.stem]! - stem) < 1)
        #expect(abs(costs[.layer1]! - layer1) < 1)
        // So recomputing the stem costs far more of a step than its multiply-adds say, layer4
        // (small, deep maps) less, and layer1 more beside layer4.
        let timed = { (segment: ResNet.Segment) in model.recomputeOverhead(of: [segment], resolution: 224) }
        let counted = { (segment: ResNet.Segment) in model.recomputeOverhead(of: [segment], resolution: 224, weights: .multiplyAdds) }
        #expect(timed(.stem) > 2 * counted(.stem))
        #expect(timed(.layer4) < counted(.layer4))
        #expect(timed(.layer1) / timed(.layer4) > 1.2 * counted(.layer1) / counted(.layer4))
    }

    /// A bf16 recompute in backward runs under the forward's autocast and leaves nothing in
    /// autocast's cast-weight cache: the next forward casts the weights the optimiser just
    /// changed, not the copies the recompute made before the step. (The cache outlived the
    /// recompute, so each forward after a checkpointed backward read last step's weights, and
    /// after the planner's probes, copies of freed tensors: NaN at 32 px streamed in bf16.)
    @Test func theForwardAfterACheckpointedStepSeesTheNewWeights() throws {
        let model = try ResNet(.resnet18, classCount: 5, generator: Generator(seed: 3))
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.5)
        let training = try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .bf16)
        let images = try (Tensor.rand([4, 3, 32, 32], generator: Generator(seed: 4)) * 255).to(dtype: .uint8)
        let every = Set(ResNet.Segment.allCases)
        try training.accumulate(images: images, labels: Tensor([0, 1, 2, 4] as [Int64]), weight: 1, recomputing: every)
        try training.step()
        // The same forward twice, in the same mode: the second runs after the first's autocast
        // has cleared whatever cache there was, so they agree only if the first read none.
        let first = try withoutGradient { () throws(TorchError) in try training.pass.logits(images: images) }
        let second = try withoutGradient { () throws(TorchError) in try training.pass.logits(images: images) }
        expectClose(first, second, within: .identical)
    }
}
