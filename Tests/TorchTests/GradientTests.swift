import Testing
import TestSupport
import Torch

/// Autograd against central finite differences, in float64.
@Suite struct GradientTests {
    /// Compares ∂(Σ f(x)·probe)/∂x from autograd with finite differences; the fixed random
    /// probe makes every output element count with a different weight.
    func expectGradientsAgree(
        at x: Tensor, _ f: @escaping (Tensor) throws(TorchError) -> Tensor,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let outputShape = try withoutGradient { () throws(TorchError) in try f(x.to(dtype: .float64)).shape }
        let probe = try Tensor.randn(outputShape, dtype: .float64, generator: Generator(seed: 3))
        let scalar: (Tensor) throws(TorchError) -> Tensor = { input throws(TorchError) in try (f(input) * probe).sum() }
        let analytic = try autogradGradient(of: scalar, at: x)
        let numeric = try numericalGradient(of: scalar, at: x)
        expectClose(analytic, numeric, within: .finiteDifferences, sourceLocation: sourceLocation)
    }

    @Test func conv2d() throws {
        let weight = try Tensor.randn([2, 3, 3, 3], dtype: .float64, generator: Generator(seed: 1))
        let bias = try Tensor([0.1, -0.2] as [Double])
        let x = try Tensor.randn([1, 3, 5, 4], dtype: .float64, generator: Generator(seed: 2))
        try expectGradientsAgree(at: x) { input throws(TorchError) in
            try input.conv2d(weight: weight, bias: bias, stride: (2, 1), padding: (1, 1))
        }
        // And with respect to the weight.
        try expectGradientsAgree(at: weight) { w throws(TorchError) in try x.conv2d(weight: w, padding: (1, 1)) }
    }

    @Test func batchNormTraining() throws {
        let x = try Tensor.randn([3, 2, 2, 2], dtype: .float64, generator: Generator(seed: 4))
        let weight = try Tensor([1.5, 0.5] as [Double])
        let bias = try Tensor([0.0, 1.0] as [Double])
        try expectGradientsAgree(at: x) { input throws(TorchError) in
            try input.batchNorm(
                weight: weight, bias: bias, runningMean: nil, runningVariance: nil, training: true)
        }
    }

    @Test func linear() throws {
        let weight = try Tensor.randn([4, 3], dtype: .float64, generator: Generator(seed: 5))
        let x = try Tensor.randn([2, 3], dtype: .float64, generator: Generator(seed: 6))
        try expectGradientsAgree(at: x) { input throws(TorchError) in try input.linear(weight: weight) }
        try expectGradientsAgree(at: weight) { w throws(TorchError) in try x.linear(weight: w) }
    }

    @Test func crossEntropyWithLabelSmoothing() throws {
        let logits = try Tensor.randn([4, 5], dtype: .float64, generator: Generator(seed: 7))
        let targets = try Tensor([0, 4, 2, 2] as [Int64])
        try expectGradientsAgree(at: logits) { input throws(TorchError) in
            try input.crossEntropy(targets: targets, labelSmoothing: 0.1)
        }
    }

    @Test func bilinearInterpolation() throws {
        let x = try Tensor.randn([1, 2, 5, 6], dtype: .float64, generator: Generator(seed: 8))
        try expectGradientsAgree(at: x) { input throws(TorchError) in
            try input.interpolateBilinear(size: (3, 4), antialias: true)
        }
        try expectGradientsAgree(at: x) { input throws(TorchError) in
            try input.interpolateBilinear(size: (7, 9), antialias: false)
        }
    }

    @Test func gradientsAccumulateUntilCleared() throws {
        let w = try Tensor([2, 3] as [Float]).requiringGradient()
        #expect(w.requiresGradient)
        #expect(w.grad == nil)
        try (w * w).sum().backward()
        expectClose(try #require(w.grad), [4, 6])
        try (w * w).sum().backward()
        expectClose(try #require(w.grad), [8, 12])
        try w.setGrad(nil)
        #expect(w.grad == nil)
    }

    @Test func noGradientInsideWithoutGradient() throws {
        let w = try Tensor([1] as [Float]).requiringGradient()
        let y = try withoutGradient { () throws(TorchError) in try w * 2 }
        #expect(!y.requiresGradient)
        #expect(try (w * 2).requiresGradient)
        #expect(try !w.detached().requiresGradient)
    }
}
