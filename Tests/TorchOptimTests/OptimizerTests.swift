import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim

/// Optimisers against updates worked out by hand from PyTorch's formulas, and on a problem
/// with a known answer.
@Suite struct OptimizerTests {
    /// Steps on the loss Σp² (gradient 2p); returns the parameter's values after each step.
    func step(_ optimizer: any Optimizer, _ parameter: Tensor, times: Int) throws -> [Double] {
        var trajectory: [Double] = []
        for _ in 0..<times {
            try optimizer.zeroGrad()
            try (parameter * parameter).sum().backward()
            try optimizer.step()
            trajectory += try parameter.array(of: Double.self)
        }
        return trajectory
    }

    @Test func sgdMomentum() throws {
        let p = try Tensor([1] as [Double]).requiringGradient()
        let sgd = try SGD(parameters: [p], learningRate: 0.1, momentum: 0.9)
        // g=2, buf=2, p=0.8; g=1.6, buf=0.9·2+1.6=3.4, p=0.8−0.34=0.46.
        expectClose(try step(sgd, p, times: 2), [0.8, 0.46])
        #expect(sgd.stepCount == 2)
    }

    @Test func sgdNesterovAndWeightDecay() throws {
        let p = try Tensor([1] as [Double]).requiringGradient()
        let nesterov = try SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, nesterov: true)
        // g=2, buf=2, d=2+0.9·2=3.8, p=1−0.38.
        expectClose(try step(nesterov, p, times: 1), [0.62])
        let q = try Tensor([1] as [Double]).requiringGradient()
        let decayed = try SGD(parameters: [q], learningRate: 0.1, weightDecay: 0.5)
        // d = 2 + 0.5·1 = 2.5.
        expectClose(try step(decayed, q, times: 1), [0.75])
        #expect(throws: TorchError.self) { try SGD(parameters: [q], learningRate: 0.1, nesterov: true) }
    }

    @Test func adamFirstTwoSteps() throws {
        let p = try Tensor([1] as [Double]).requiringGradient()
        let adam = try Adam(parameters: [p], learningRate: 0.1)
        // Step 1: m̂ = g, v̂ = g², so p moves by lr·g/(|g|+ε) ≈ lr.
        let first = 1 - 0.1 * 2 / (2 + 1e-8)
        // Step 2 at p₁: g₂ = 2p₁; m = 0.9·0.1·2 + 0.1·g₂… written out:
        let g1 = 2.0
        let g2 = 2 * first
        let m = 0.9 * (0.1 * g1) + 0.1 * g2
        let v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2
        let mHat = m / (1 - 0.81)
        let vHat = v / (1 - 0.999 * 0.999)
        let second = first - 0.1 * mHat / (vHat.squareRoot() + 1e-8)
        expectClose(try step(adam, p, times: 2), [first, second], within: .exactInFloat64)
    }

    @Test func adamWDecaysTheWeightsDirectly() throws {
        let p = try Tensor([1] as [Double]).requiringGradient()
        let adamW = try Adam.adamW(parameters: [p], learningRate: 0.1, weightDecay: 0.5)
        // p ← p·(1 − lr·wd) = 0.95, then the Adam step of size ≈ lr.
        expectClose(try step(adamW, p, times: 1), [0.95 - 0.1 * 2 / (2 + 1e-8)], within: .exactInFloat64)
    }

    @Test(arguments: ["sgd", "adam", "adamw"])
    func learnsALinearMap(name: String) throws {
        // y = x·[2, −3]ᵀ + 1, noiseless: every optimiser should get close.
        let generator = try Generator(seed: 9)
        let x = try Tensor.randn([64, 2], generator: generator)
        let y = try x.matmul(try Tensor([2, -3] as [Float], shape: [2, 1])) + 1
        let layer = try Linear(inputFeatures: 2, outputFeatures: 1, generator: generator)
        let parameters = layer.namedParameters().map(\.tensor)
        let optimizer: any Optimizer =
            switch name {
            case "sgd": try SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9)
            case "adam": try Adam(parameters: parameters, learningRate: 0.1)
            default: try Adam.adamW(parameters: parameters, learningRate: 0.1, weightDecay: 1e-4)
            }
        var loss = 0.0
        for _ in 0..<300 {
            try optimizer.zeroGrad()
            let error = try (layer(x) - y).square().mean()
            try error.backward()
            try optimizer.step()
            loss = try error.item()
        }
        #expect(loss < 1e-3, "\(name) ended at loss \(loss)")
        expectClose(layer.weight, [2, -3], within: .approximation(0.02, "300 steps reach the least-squares solution"))
    }

    @Test func stateRoundTripsThroughNames() throws {
        let p = try Tensor([1, 2] as [Double]).requiringGradient()
        let adam = try Adam(parameters: [p], learningRate: 0.1)
        _ = try step(adam, p, times: 3)
        let saved = Dictionary(uniqueKeysWithValues: try adam.namedState().map { ($0.name, try $0.tensor.clone()) })
        #expect(Set(saved.keys) == ["0.exp_avg", "0.exp_avg_sq", "0.step"])
        let snapshot = try p.detached().clone()

        let continued = try step(adam, p, times: 2)
        let q = try snapshot.clone().requiringGradient()
        let resumed = try Adam(parameters: [q], learningRate: 0.1)
        try resumed.load(namedState: saved, stepCount: 3)
        #expect(try step(resumed, q, times: 2) == continued)
        #expect(throws: TorchError.self) { try resumed.load(namedState: ["7.exp_avg": q], stepCount: 1) }
    }

    /// Loading replaces the state without holding old and new at once: the planner restores its
    /// snapshot under the budget it measured with, where both Adam states together did not fit.
    @Test func loadingStateDropsTheOldBuffersFirst() throws {
        let p = try Tensor.zeros([1 << 19], dtype: .float64).requiringGradient()  // 4 MiB
        let adam = try Adam(parameters: [p], learningRate: 0.1)
        _ = try step(adam, p, times: 1)
        try adam.zeroGrad()
        let saved = Dictionary(uniqueKeysWithValues: try adam.namedState().map { ($0.name, try $0.tensor.clone()) })
        let stateBytes = 2 * (4 << 20)  // exp_avg and exp_avg_sq
        let before = try Device.cpu.memoryStatistics().liveBytes
        try Device.cpu.resetPeakMemory()
        try adam.load(namedState: saved, stepCount: 1)
        let rise = try Device.cpu.memoryStatistics().peakBytes - before
        // Each new buffer is made after the old ones went: at most one buffer's worth above.
        #expect(rise <= stateBytes / 2, "peak rose by \(rise) bytes loading \(stateBytes) bytes of state")
    }

    /// State read from a file is contiguous; a channels-last weight must get it back in its
    /// own layout, or the fused step pairs the wrong elements.
    @Test(arguments: ["sgd", "adam"])
    func stateLoadedForAChannelsLastWeightKeepsItsLayout(_ name: String) throws {
        func make(_ p: Tensor) throws -> any Optimizer {
            name == "sgd" ? try SGD(parameters: [p], learningRate: 0.1, momentum: 0.9) : try Adam(parameters: [p], learningRate: 0.1)
        }
        func stepOnce(_ optimizer: any Optimizer, _ p: Tensor) throws {
            let target = try Tensor.arange(0, 24, dtype: .float32).reshaped([1, 2, 3, 4]).contiguous(.channelsLast)
            try ((p - target) * (p - target) * target).sum().backward()
            try optimizer.step()
            try optimizer.zeroGrad()
        }
        let start = try Tensor.randn([1, 2, 3, 4], generator: Generator(seed: 3)).contiguous(.channelsLast)
        let p = try start.clone().requiringGradient()
        let optimizer = try make(p)
        try stepOnce(optimizer, p)
        // As a checkpoint file gives it back: every state tensor contiguous.
        let saved = Dictionary(uniqueKeysWithValues: try optimizer.namedState().map { ($0.name, try $0.tensor.contiguous().clone()) })
        let q = try p.detached().clone().requiringGradient()
        try stepOnce(optimizer, p)
        let resumed = try make(q)
        try resumed.load(namedState: saved, stepCount: 1)
        try stepOnce(resumed, q)
        expectClose(q, try p.detached().array(of: Float.self).map(Double.init), shape: [1, 2, 3, 4], within: .rounding(.float32))
    }
}
