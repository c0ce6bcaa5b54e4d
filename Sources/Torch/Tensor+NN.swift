import CTorch

/// How a loss combines per-sample values.
public enum Reduction: Int32, Sendable {
    case none = 0, mean, sum
}

extension Tensor {
    /// 2-D convolution of an NCHW input with an (out, in/groups, kH, kW) weight.
    public func conv2d(
        weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) throws(TorchError) -> Tensor {
        let s = [Int64(stride.0), Int64(stride.1)]
        let p = [Int64(padding.0), Int64(padding.1)]
        let d = [Int64(dilation.0), Int64(dilation.1)]
        return try Tensor.make { ctorch_conv2d(handle, weight.handle, bias?.handle, s, p, d, Int64(groups), $0) }
    }

    /// Batch normalisation over the channel dimension. In training mode the batch statistics
    /// are used and the running statistics, when given, are updated in place with `momentum`.
    public func batchNorm(
        weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVariance: Tensor?,
        training: Bool, momentum: Double = 0.1, epsilon: Double = 1e-5
    ) throws(TorchError) -> Tensor {
        try Tensor.make {
            ctorch_batch_norm(
                handle, weight?.handle, bias?.handle, runningMean?.handle, runningVariance?.handle,
                training, momentum, epsilon, $0)
        }
    }

    public func relu() throws(TorchError) -> Tensor { try unary(.relu) }

    /// 2-D max pooling; `stride` defaults to the kernel size, as in PyTorch.
    public func maxPool2d(
        kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), ceilMode: Bool = false
    ) throws(TorchError) -> Tensor {
        let k = [Int64(kernelSize.0), Int64(kernelSize.1)]
        let step = stride ?? kernelSize
        let s = [Int64(step.0), Int64(step.1)]
        let p = [Int64(padding.0), Int64(padding.1)]
        let d = [Int64(dilation.0), Int64(dilation.1)]
        return try Tensor.make { ctorch_max_pool2d(handle, k, s, p, d, ceilMode, $0) }
    }

    /// Average pooling to a fixed (height, width).
    public func adaptiveAvgPool2d(outputSize: (Int, Int)) throws(TorchError) -> Tensor {
        let size = [Int64(outputSize.0), Int64(outputSize.1)]
        return try Tensor.make { ctorch_adaptive_avg_pool2d(handle, size, $0) }
    }

    /// self · weightᵀ + bias.
    public func linear(weight: Tensor, bias: Tensor? = nil) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_linear(handle, weight.handle, bias?.handle, $0) }
    }

    /// Matrix product with broadcasting.
    public func matmul(_ other: Tensor) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_matmul(handle, other.handle, $0) }
    }

    /// Cross-entropy of these logits (N, C) against int64 class indices (N), as
    /// `torch.nn.functional.cross_entropy`.
    public func crossEntropy(
        targets: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean, ignoreIndex: Int = -100,
        labelSmoothing: Double = 0
    ) throws(TorchError) -> Tensor {
        try Tensor.make {
            ctorch_cross_entropy(handle, targets.handle, weight?.handle, reduction.rawValue, Int64(ignoreIndex), labelSmoothing, $0)
        }
    }

    /// Bilinear resize of an NCHW tensor (float or uint8) to (height, width). With `antialias`
    /// a downscale averages every source pixel it covers, as torchvision's Resize does.
    public func interpolateBilinear(
        size: (Int, Int), alignCorners: Bool = false, antialias: Bool = true
    ) throws(TorchError) -> Tensor {
        let target = [Int64(size.0), Int64(size.1)]
        return try Tensor.make { ctorch_interpolate_bilinear(handle, target, alignCorners, antialias, $0) }
    }
}
