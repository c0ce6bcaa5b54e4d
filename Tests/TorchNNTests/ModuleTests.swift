import Testing
import TestSupport
import Torch
import TorchNN

@Suite struct ModuleTests {
    func smallNetwork() throws -> Sequential {
        Sequential([
            try Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, padding: 1, generator: Generator(seed: 0)),
            try BatchNorm2d(features: 4), ReLU(), AdaptiveAvgPool2d(outputSize: (1, 1)), Flatten(),
            try Linear(inputFeatures: 4, outputFeatures: 2, generator: Generator(seed: 1)),
        ])
    }

    @Test func stateDictHasPyTorchsNamesAndOrder() throws {
        let names = try smallNetwork().stateDict().map(\.name)
        #expect(names == [
            "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
            "1.num_batches_tracked", "5.weight", "5.bias",
        ])
        let network = try smallNetwork()
        #expect(network.namedParameters().map(\.name) == ["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"])
        #expect(network.namedBuffers().count == 3)
        #expect(network.parameterCount == 4 * 3 * 9 + 4 + 4 + 4 + 8 + 2)
    }

    @Test func trainAndEvalReachEveryModule() throws {
        let network = try smallNetwork()
        network.eval()
        #expect(network.namedModules().allSatisfy { !$0.module.isTraining })
        network.train()
        #expect(network.namedModules().allSatisfy { $0.module.isTraining })
    }

    @Test func batchNormCountsTrainingBatchesOnly() throws {
        let norm = try BatchNorm2d(features: 2)
        let x = try Tensor.randn([4, 2, 3, 3], generator: Generator(seed: 2))
        _ = try norm(x)
        _ = try norm(x)
        #expect(try norm.batchesTracked.itemInt() == 2)
        let trainedMean = try norm.runningMean.array(of: Float.self)
        norm.eval()
        _ = try norm(x)
        #expect(try norm.batchesTracked.itemInt() == 2)
        #expect(try norm.runningMean.array(of: Float.self) == trainedMean)
    }

    @Test func defaultInitialisationIsPyTorchs() throws {
        // kaiming_uniform_(a=√5): U(−1/√fan_in, 1/√fan_in); fan_in = 16·3·3.
        let conv = try Conv2d(inputChannels: 16, outputChannels: 64, kernelSize: 3, generator: Generator(seed: 3))
        let bound = 1 / Double(16 * 9).squareRoot()
        let values = try conv.weight.array(of: Float.self).map(Double.init)
        #expect(values.allSatisfy { abs($0) <= bound })
        let variance = values.map { $0 * $0 }.reduce(0, +) / Double(values.count)
        // Uniform on (−b, b) has variance b²/3.
        #expect(abs(variance - bound * bound / 3) < 0.1 * bound * bound / 3)
        #expect(conv.weight.requiresGradient)
    }

    @Test func movingKeepsIdentityAndIntegerBuffers() throws {
        let network = try smallNetwork()
        let conv = try #require(network.layers[0] as? Conv2d)
        let weight = conv.weight
        try network.move(dtype: .float64)
        #expect(conv.weight === weight)
        #expect(weight.dtype == .float64)
        #expect(weight.requiresGradient)
        let norm = try #require(network.layers[1] as? BatchNorm2d)
        #expect(norm.batchesTracked.dtype == .int64)
        let output = try network(try Tensor.randn([2, 3, 8, 8], dtype: .float64, generator: Generator(seed: 4)))
        #expect(output.shape == [2, 2])
    }

    @Test func channelsLastGivesTheSameOutput() throws {
        let network = try smallNetwork()
        network.eval()
        let x = try Tensor.randn([2, 3, 8, 8], generator: Generator(seed: 5))
        let reference = try network(x)
        try network.setMemoryFormat(.channelsLast)
        let conv = try #require(network.layers[0] as? Conv2d)
        #expect(conv.weight.isContiguous(in: .channelsLast))
        expectClose(try network(x.contiguous(.channelsLast)), reference, within: .acrossSummationOrders(.float32, terms: 27))
    }

    @Test func zeroGradDropsGradients() throws {
        let network = try smallNetwork()
        try network(try Tensor.randn([2, 3, 8, 8], generator: Generator(seed: 6))).sum().backward()
        #expect(network.namedParameters().allSatisfy { $0.tensor.grad != nil })
        try network.zeroGrad()
        #expect(network.namedParameters().allSatisfy { $0.tensor.grad == nil })
    }

    @Test func modulesLeakNoTensors() throws {
        let baseline = Torch.liveTensorCount
        for _ in 0..<20 {
            let network = try smallNetwork()
            try network(try Tensor.randn([2, 3, 8, 8], generator: Generator(seed: 7))).sum().backward()
        }
        #expect(Torch.liveTensorCount == baseline)
    }
}
