import Foundation
import Testing
import TestSupport
import Torch

/// Neural-network ops against values worked out by hand.
@Suite struct NNOpsTests {
    @Test func conv2dSumsEachWindow() throws {
        let input = try Tensor((1...9).map(Float.init), shape: [1, 1, 3, 3])
        let weight = try Tensor.ones([1, 1, 2, 2])
        expectClose(try input.conv2d(weight: weight), [12, 16, 24, 28], shape: [1, 1, 2, 2])
        let bias = try Tensor([0.5] as [Float])
        let padded = try input.conv2d(weight: weight, bias: bias, stride: (2, 2), padding: (1, 1))
        // Windows at stride 2 over the zero-padded 5×5: corners of the image, one to four pixels each.
        expectClose(padded, [1.5, 5.5, 11.5, 28.5], shape: [1, 1, 2, 2])
    }

    @Test func batchNormTrainingUpdatesRunningStatistics() throws {
        // Two samples, one channel, 1×2 pixels: values 1, 3, 5, 7 → mean 4, biased var 5, unbiased 20/3.
        let x = try Tensor([1, 3, 5, 7] as [Double], shape: [2, 1, 1, 2])
        let runningMean = try Tensor.zeros([1], dtype: .float64)
        let runningVar = try Tensor.ones([1], dtype: .float64)
        let y = try x.batchNorm(
            weight: try Tensor([2] as [Double]), bias: try Tensor([1] as [Double]),
            runningMean: runningMean, runningVariance: runningVar, training: true, momentum: 0.1, epsilon: 0)
        let s = 5.0.squareRoot()
        expectClose(y, [1 - 6 / s, 1 - 2 / s, 1 + 2 / s, 1 + 6 / s])
        expectClose(runningMean, [0.4])
        expectClose(runningVar, [0.9 + 0.1 * 20 / 3])
    }

    @Test func batchNormEvalUsesRunningStatistics() throws {
        let x = try Tensor([1, 3] as [Double], shape: [1, 2, 1, 1])
        let y = try x.batchNorm(
            weight: nil, bias: nil, runningMean: try Tensor([1, 1] as [Double]),
            runningVariance: try Tensor([4, 1] as [Double]), training: false, epsilon: 0)
        expectClose(y, [0, 2])
    }

    @Test func pooling() throws {
        let input = try Tensor((1...16).map(Float.init), shape: [1, 1, 4, 4])
        expectClose(try input.maxPool2d(kernelSize: (2, 2)), [6, 8, 14, 16], shape: [1, 1, 2, 2])
        // ResNet's stem pool: 3×3, stride 2, padding 1.
        expectClose(
            try input.maxPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)), [6, 8, 14, 16],
            shape: [1, 1, 2, 2])
        expectClose(try input.adaptiveAvgPool2d(outputSize: (1, 1)), [8.5], shape: [1, 1, 1, 1])
        expectClose(try input.adaptiveAvgPool2d(outputSize: (2, 2)), [3.5, 5.5, 11.5, 13.5])
    }

    @Test func linearAndMatmul() throws {
        let x = try Tensor([1, 2] as [Float], shape: [1, 2])
        let w = try Tensor([1, 0, 0, 1, 1, 1] as [Float], shape: [3, 2])
        let b = try Tensor([0, 0, 10] as [Float])
        expectClose(try x.linear(weight: w, bias: b), [1, 2, 13], shape: [1, 3])
        let a = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        expectClose(try a.matmul(a), [7, 10, 15, 22])
    }

    @Test func crossEntropyMatchesTheDefinition() throws {
        let logits = try Tensor([1, 2, 3, 1, 1, 1] as [Double], shape: [2, 3])
        let targets = try Tensor([2, 0] as [Int64])
        let logZ0 = Foundation.log(2.718281828459045 + 7.38905609893065 + 20.085536923187668)
        let nll = [logZ0 - 3, Foundation.log(3.0)]
        expectClose(try logits.crossEntropy(targets: targets, reduction: .none), nll)
        expectClose(try logits.crossEntropy(targets: targets), [(nll[0] + nll[1]) / 2])
        expectClose(try logits.crossEntropy(targets: targets, reduction: .sum), [nll[0] + nll[1]])
        // Label smoothing ε: (1 − ε)·nll + ε·mean over classes of −log p.
        let smoothing = 0.1
        let uniform0 = ((logZ0 - 1) + (logZ0 - 2) + (logZ0 - 3)) / 3
        let uniform1 = Foundation.log(3.0)
        let smoothed = [
            (1 - smoothing) * nll[0] + smoothing * uniform0, (1 - smoothing) * nll[1] + smoothing * uniform1,
        ]
        expectClose(try logits.crossEntropy(targets: targets, reduction: .none, labelSmoothing: smoothing), smoothed)
    }

    @Test func bilinearUpscaleHasKnownWeights() throws {
        let x = try Tensor([0, 8] as [Double], shape: [1, 1, 1, 2])
        // align_corners=False: output pixel centres at 0.25 and 0.75 of the way between inputs.
        expectClose(try x.interpolateBilinear(size: (1, 4), antialias: false), [0, 2, 6, 8])
        expectClose(try x.interpolateBilinear(size: (1, 4), alignCorners: true, antialias: false), [0, 8.0 / 3, 16.0 / 3, 8])
    }

    @Test func uint8ResizeMatchesTheFloatPath() throws {
        let pixels = (0..<(3 * 16 * 12)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ ($0 >> 3)) }
        let image = try Tensor(pixels, shape: [1, 3, 16, 12])
        let small = try image.interpolateBilinear(size: (5, 7), antialias: true)
        #expect(small.dtype == .uint8)
        #expect(small.shape == [1, 3, 5, 7])
        let reference = try image.to(dtype: .float32).interpolateBilinear(size: (5, 7), antialias: true)
        let rounded = try reference.rounded().clamped(min: 0, max: 255)
        let difference = try (small.to(dtype: .float32) - rounded).abs().max().item()
        #expect(difference <= 1)
        let constant = try Tensor.full([1, 3, 20, 20], value: 77, dtype: .uint8)
        #expect(try constant.interpolateBilinear(size: (7, 9)).bytes().allSatisfy { $0 == 77 })
    }
}

@Suite struct AutocastTests {
    @Test func matmulsRunInBFloat16InsideAndFloat32Outside() throws {
        let a = try Tensor.randn([4, 8], generator: Generator(seed: 1))
        let w = try Tensor.randn([3, 8], generator: Generator(seed: 2))
        let inside = try withAutocast(device: .cpu, dtype: .bfloat16) { () throws(TorchError) in try a.linear(weight: w) }
        #expect(inside.dtype == .bfloat16)
        expectClose(try inside.to(dtype: .float32), try a.linear(weight: w), within: .acrossKernels(.bfloat16, terms: 8))
        #expect(try a.linear(weight: w).dtype == .float32)
        // Nested scopes restore the outer state.
        try withAutocast(device: .cpu, dtype: .bfloat16) { () throws(TorchError) in
            try withAutocast(device: .cpu, dtype: .bfloat16) { () throws(TorchError) in _ = try a.matmul(a.permuted([1, 0])) }
            #expect(try a.linear(weight: w).dtype == .bfloat16)
        }
        #expect(try a.linear(weight: w).dtype == .float32)
    }
}
