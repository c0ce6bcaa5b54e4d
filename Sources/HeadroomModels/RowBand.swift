import Torch
import TorchNN

/// Rows of a feature map, by their row numbers in the whole map: what a band of a streamed
/// network holds of each map it passes through.
struct RowBand {
    let tensor: Tensor
    let range: Range<Int>

    /// Rows `wanted` of a map `height` rows tall, with `fill` where they lie outside it (a
    /// convolution's zero padding, a max-pool's −∞). The rows inside the map must be here.
    func rows(_ wanted: Range<Int>, height: Int, fill: Double = 0) throws(TorchError) -> Tensor {
        let inside = max(0, wanted.lowerBound)..<min(height, wanted.upperBound)
        guard !inside.isEmpty, range.lowerBound <= inside.lowerBound, inside.upperBound <= range.upperBound else {
            throw .invalidArgument("rows \(wanted) of a band holding rows \(range) of \(height)")
        }
        let kept = try tensor.slice(dim: 2, (inside.lowerBound - range.lowerBound)..<(inside.upperBound - range.lowerBound))
        let above = inside.lowerBound - wanted.lowerBound
        let below = wanted.upperBound - inside.upperBound
        guard above > 0 || below > 0 else { return kept }
        var parts: [Tensor] = []
        var shape = tensor.shape
        if above > 0 {
            shape[2] = above
            parts.append(try Tensor.full(shape, value: fill, dtype: tensor.dtype, device: tensor.device))
        }
        parts.append(kept)
        if below > 0 {
            shape[2] = below
            parts.append(try Tensor.full(shape, value: fill, dtype: tensor.dtype, device: tensor.device))
        }
        return try Tensor.cat(parts, dim: 2)
    }
}

/// A convolution's or a pooling's window along the rows.
struct RowWindow {
    let kernel: Int
    let stride: Int
    let padding: Int

    /// The input rows output rows `output` read, padding rows included (they may lie outside
    /// the map).
    func inputRows(for output: Range<Int>) -> Range<Int> {
        (output.lowerBound * stride - padding)..<((output.upperBound - 1) * stride - padding + kernel)
    }

    func outputHeight(inputHeight: Int) -> Int { (inputHeight + 2 * padding - kernel) / stride + 1 }
}

extension Conv2d {
    var rowWindow: RowWindow { RowWindow(kernel: weight.shape[2], stride: stride.0, padding: padding.0) }

    /// Output rows `output` from the input rows they read (zero rows where the padding is).
    func callAsFunction(_ input: RowBand, rows output: Range<Int>, inputHeight: Int) throws(TorchError) -> RowBand {
        let window = rowWindow
        let x = try input.rows(window.inputRows(for: output), height: inputHeight)
        let y = try x.conv2d(weight: weight, bias: bias, stride: stride, padding: (0, padding.1), dilation: dilation, groups: groups)
        return RowBand(tensor: y, range: output)
    }
}

extension MaxPool2d {
    var rowWindow: RowWindow { RowWindow(kernel: kernelSize, stride: stride, padding: padding) }

    /// Output rows `output` from the input rows they read (−∞ where the padding is).
    func callAsFunction(_ input: RowBand, rows output: Range<Int>, inputHeight: Int) throws(TorchError) -> RowBand {
        let x = try input.rows(rowWindow.inputRows(for: output), height: inputHeight, fill: -.infinity)
        let y = isGradientEnabled()
            ? try x.maxPool2d(kernelSize: (kernelSize, kernelSize), stride: (stride, stride), padding: (0, padding))
            : try maximumOfSlices(x)
        return RowBand(tensor: y, range: output)
    }

    /// The same pooling (rows padded already, columns by `padding`) as the maximum of strided
    /// slices, rows then columns: exact, since a maximum rounds nothing, NaN spreading as
    /// max_pool2d's does, and faster than ATen's NCHW kernel, which loops element by element
    /// (measured 1.6× on a 64×130×2048 band, one thread). Only where no gradient is recorded —
    /// the streamed forward passes, run once per statistics pass — because its backward would
    /// split a tie between the inputs where max_pool2d's sends the gradient to the first.
    func maximumOfSlices(_ x: Tensor) throws(TorchError) -> Tensor {
        let window = rowWindow
        func maximum(_ x: Tensor, dim: Int, count: Int) throws(TorchError) -> Tensor {
            var result: Tensor?
            for offset in 0..<kernelSize {
                let slice = try x.slice(dim: dim, offset..<(offset + stride * (count - 1) + 1), step: stride)
                result = try result.map { (best) throws(TorchError) in try best.maximum(slice) } ?? slice
            }
            return result!
        }
        let rows = try maximum(x, dim: 2, count: (x.shape[2] - kernelSize) / stride + 1)
        var edge = rows.shape
        edge[3] = window.padding
        let padded = window.padding == 0 ? rows : try Tensor.cat([
            Tensor.full(edge, value: -.infinity, dtype: rows.dtype, device: rows.device), rows,
            Tensor.full(edge, value: -.infinity, dtype: rows.dtype, device: rows.device),
        ], dim: 3)
        return try maximum(padded, dim: 3, count: window.outputHeight(inputHeight: x.shape[3]))
    }
}

extension Range<Int> {
    /// The smallest range holding both.
    func union(_ other: Range<Int>) -> Range<Int> {
        Swift.min(lowerBound, other.lowerBound)..<Swift.max(upperBound, other.upperBound)
    }

    /// Cut into `count` consecutive parts whose sizes differ by at most one (fewer when it is short).
    func bands(_ count: Int) -> [Range<Int>] {
        let parts = Swift.max(1, Swift.min(count, self.count))
        return (0..<parts).map { part in
            (lowerBound + part * self.count / parts)..<(lowerBound + (part + 1) * self.count / parts)
        }
    }
}
