import Torch
import TorchNN

/// The stem of a checkpointed ResNet, computed in horizontal bands.
///
/// Checkpointing the stem as one segment still recomputes all of it at once in backward:
/// conv1's 64 channels at half resolution, BatchNorm's output and the max-pool's indices,
/// then their gradients — at high resolution the largest peak of a checkpointed network
/// (about 270 bytes per input pixel). Here each band of output rows is its own checkpointed
/// segment, so a recompute holds one band. BatchNorm's batch statistics need every pixel,
/// so they come first, from per-band sums (in float64) that are checkpointed the same way;
/// mean and inverse deviation then enter each band as differentiable inputs, so gradients
/// flow through the statistics exactly as through `batch_norm`. The running statistics are
/// updated once, as `batch_norm` would.
extension ResNet {
    /// Output rows per band: about an eighth of the stem's output, at least 8.
    static func stemBandRows(outputRows: Int) -> Int { max(8, (outputRows + 7) / 8) }

    /// Whether the banded stem applies to `segments`: the stem and layer1 checkpointed (with
    /// layer1 kept whole, its activations outweigh the stem's recompute, and bands would
    /// cost compute for nothing), BatchNorm on batch statistics, and rows for two bands.
    func usesBandedStem(inputRows: Int, segments: Set<Segment>) -> Bool {
        let output = stemGeometry(inputRows: inputRows).outputRows
        return segments.isSuperset(of: [.stem, .layer1]) && bn1.isTraining && !bn1.isFrozen
            && output >= 2 * Self.stemBandRows(outputRows: output)
    }

    func bandedStem(_ input: Tensor) throws(TorchError) -> Tensor {
        let shape = input.shape
        let geometry = stemGeometry(inputRows: shape[2])
        let convRows = geometry.convRows
        let band = Self.stemBandRows(outputRows: geometry.outputRows)
        let convolution = conv1.namedParameters().map(\.tensor).filter(\.requiresGradient)

        // Per-channel sum and sum of squares of conv1's output, band by band.
        var sums: Tensor?
        for start in stride(from: 0, to: convRows, by: 2 * band) {
            let rows = start..<min(convRows, start + 2 * band)
            let partial = try checkpoint(input, parameters: convolution) { [self] (x) throws(TorchError) in
                let c = try conv1Rows(x, rows).to(dtype: .float64)
                return try Tensor.stack([c.sum(dims: [0, 2, 3]), c.square().sum(dims: [0, 2, 3])])
            }
            sums = try sums.map { (total) throws(TorchError) in try total + partial } ?? partial
        }
        guard let sums else { throw .invalidArgument("the stem's input has no rows") }
        let convColumns = stemGeometry(inputRows: shape[3]).convRows
        let count = Double(shape[0] * convRows * convColumns)
        let mean = try sums.select(dim: 0, index: 0) / count
        let variance = try (sums.select(dim: 0, index: 1) / count - mean.square()).clamped(min: 0)
        try updateRunningStatistics(mean: mean, variance: variance, count: count)
        // Back to the weights' type (float32, or float64 when the whole run is).
        let type = bn1.weight.dtype
        let statistics = [
            try mean.to(dtype: type).reshaped([1, -1, 1, 1]),
            try (variance + bn1.epsilon).rsqrt().to(dtype: type).reshaped([1, -1, 1, 1]),
        ]

        // Each band of output rows from the conv1 rows it needs, normalised with the statistics
        // (inputs of the segment: they come out of the graph above).
        let parameters = convolution + [bn1.weight, bn1.bias].filter(\.requiresGradient)
        var bands: [Tensor] = []
        for start in stride(from: 0, to: geometry.outputRows, by: band) {
            let rows = start..<min(geometry.outputRows, start + band)
            bands.append(try checkpoint([input] + statistics, parameters: parameters) { [self] (inputs) throws(TorchError) in
                try stemRows(inputs[0], rows, mean: inputs[1], inverseDeviation: inputs[2], convRows: convRows)
            })
        }
        return try Tensor.cat(bands, dim: 2)
    }

    /// Rows of conv1's and the max-pool's outputs for `inputRows` rows of input (columns alike).
    func stemGeometry(inputRows: Int) -> (convRows: Int, outputRows: Int) {
        let convRows = conv1.multiplyAdds(inputSize: inputRows).outputSize
        let outputRows = (convRows + 2 * maxpool.padding - maxpool.kernelSize) / maxpool.stride + 1
        return (convRows, outputRows)
    }

    /// conv1's output rows `rows`, from the input rows they see (zero rows where conv1's
    /// padding would be).
    private func conv1Rows(_ x: Tensor, _ rows: Range<Int>) throws(TorchError) -> Tensor {
        // Output row r sees input rows 2r - 3 ... 2r + 3 (kernel 7, stride 2, padding 3).
        let (kernel, stride, padding) = (conv1.weight.shape[2], conv1.stride.0, conv1.padding.0)
        let first = rows.lowerBound * stride - padding
        let end = (rows.upperBound - 1) * stride - padding + kernel
        let slice = try padRows(x, from: first, to: end, value: 0)
        return try slice.conv2d(weight: conv1.weight, bias: conv1.bias, stride: conv1.stride, padding: (0, conv1.padding.1))
    }

    /// The stem's output rows `rows`: conv1 → BatchNorm with the given statistics → ReLU →
    /// max-pool, from the conv1 rows the pool sees (−∞ where its padding would be).
    private func stemRows(
        _ x: Tensor, _ rows: Range<Int>, mean: Tensor, inverseDeviation: Tensor, convRows: Int
    ) throws(TorchError) -> Tensor {
        // Output row p sees conv rows 2p - 1 ... 2p + 1 (kernel 3, stride 2, padding 1).
        let first = rows.lowerBound * maxpool.stride - maxpool.padding
        let end = (rows.upperBound - 1) * maxpool.stride - maxpool.padding + maxpool.kernelSize
        let c = try conv1Rows(x, max(0, first)..<min(convRows, end))
        let scale = try bn1.weight.reshaped([1, -1, 1, 1]) * inverseDeviation
        let normalised = try (c - mean) * scale + bn1.bias.reshaped([1, -1, 1, 1])
        try normalised.reluInPlace()
        let padded = try padRows(normalised, from: first - max(0, first), to: end - max(0, first), value: -.infinity)
        return try padded.maxPool2d(
            kernelSize: (maxpool.kernelSize, maxpool.kernelSize), stride: (maxpool.stride, maxpool.stride),
            padding: (0, maxpool.padding))
    }

    /// Rows `from..<to` of an NCHW tensor, with rows outside it filled with `value`.
    private func padRows(_ x: Tensor, from: Int, to: Int, value: Double) throws(TorchError) -> Tensor {
        let height = x.shape[2]
        let inside = try x.slice(dim: 2, max(0, from)..<min(height, to))
        let above = max(0, -from)
        let below = max(0, to - height)
        guard above > 0 || below > 0 else { return inside }
        var shape = x.shape
        var parts: [Tensor] = []
        if above > 0 {
            shape[2] = above
            parts.append(try Tensor.full(shape, value: value, dtype: x.dtype, device: x.device))
        }
        parts.append(inside)
        if below > 0 {
            shape[2] = below
            parts.append(try Tensor.full(shape, value: value, dtype: x.dtype, device: x.device))
        }
        return try Tensor.cat(parts, dim: 2)
    }

    /// What `batch_norm` does to the running statistics in training (unbiased variance).
    private func updateRunningStatistics(mean: Tensor, variance: Tensor, count: Double) throws(TorchError) {
        let momentum = bn1.momentum
        try withoutGradient { () throws(TorchError) in
            let unbiased = try variance * (count / max(count - 1, 1))
            try bn1.runningMean.copyInPlace(from: bn1.runningMean * (1 - momentum) + mean.to(dtype: bn1.runningMean.dtype) * momentum)
            try bn1.runningVariance.copyInPlace(from: bn1.runningVariance * (1 - momentum) + unbiased.to(dtype: bn1.runningVariance.dtype) * momentum)
            try bn1.batchesTracked += 1
        }
    }
}
