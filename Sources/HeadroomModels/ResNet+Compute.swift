import Torch
import TorchNN

extension ResNet {
    /// Multiply-adds of one sample's forward pass at `resolution`² px, per segment (the
    /// classifier's are left out: under 0.1% of the total).
    public func forwardMultiplyAdds(resolution: Int) -> [Segment: Double] {
        var size = resolution
        var costs: [Segment: Double] = [:]
        let stem = conv1.multiplyAdds(inputSize: size)
        size = (stem.outputSize + 2 * maxpool.padding - maxpool.kernelSize) / maxpool.stride + 1
        costs[.stem] = stem.count
        for (segment, stage) in zip(Segment.stages, stages) {
            var total = 0.0
            for case let block as any ResidualBlock in stage.layers {
                let (count, output) = block.multiplyAdds(inputSize: size)
                total += count
                size = output
            }
            costs[segment] = total
        }
        return costs
    }

    /// The extra compute of recomputing `segments` in backward, as a fraction of a training
    /// step (a step costs about three forward passes: forward, and backward at twice that).
    /// The banded stem (see ``usesBandedStem(inputRows:segments:)``) runs conv1 four more
    /// times than a plain step: the statistics pass, the band pass, the statistics'
    /// recompute and its extra weight gradient.
    public func recomputeOverhead(of segments: Set<Segment>, resolution: Int) -> Double {
        let costs = forwardMultiplyAdds(resolution: resolution)
        let step = 3 * costs.values.reduce(0, +)
        guard step > 0 else { return 0 }
        let stemPasses = usesBandedStem(inputRows: resolution, segments: segments) ? 4.0 : 1.0
        return segments.reduce(0) { $0 + (costs[$1] ?? 0) * ($1 == .stem ? stemPasses : 1) } / step
    }
}

extension ResNet {
    /// The extra compute of `streaming` with the segments after it in `segments` recomputed,
    /// as a fraction of a plain training step. Each BatchNorm's statistics pass runs
    /// everything before it: forward, again in backward's recompute, then backward (twice a
    /// forward, less conv1's input gradient, never needed); a downsampling block's first and
    /// shortcut BatchNorms share one pass. The output bands are recomputed once. Halos are
    /// left out: they add little where bands are tall. Frozen BatchNorms need no statistics
    /// pass: streaming then costs the bands' recompute alone; `assumingFrozenBatchNorm`
    /// prices that choice for a model that trains its BatchNorms. With held stage outputs a
    /// pass recomputes from its stage's input, not the image.
    public func recomputeOverhead(
        of segments: Set<Segment>, streaming: Streaming?, resolution: Int, assumingFrozenBatchNorm: Bool = false
    ) -> Double {
        guard let streaming else { return recomputeOverhead(of: segments, resolution: resolution) }
        let costs = forwardMultiplyAdds(resolution: resolution)
        let step = 3 * costs.values.reduce(0, +)
        guard step > 0 else { return 0 }
        let stem = conv1.multiplyAdds(inputSize: resolution)
        var size = (stem.outputSize + 2 * maxpool.padding - maxpool.kernelSize) / maxpool.stride + 1
        var before = stem.count  // everything computed before the current block
        // Where a pass's recompute starts: the image, or with held stages the stage's input.
        var start = 0.0
        var passes: [Double] = []  // per BatchNorm on batch statistics: what its statistics pass computes
        var fromImage: [Bool] = []  // whether that pass starts at the image (conv1's input gradient is never needed)
        func trains(_ norm: BatchNorm2d) -> Bool { !assumingFrozenBatchNorm && norm.isTraining && !norm.isFrozen }
        func pass(_ compute: Double) {
            passes.append(compute)
            fromImage.append(start == 0)
        }
        if trains(bn1) { pass(before) }
        for (segment, stage) in zip(Segment.stages, stages) where segment <= streaming.through {
            if streaming.holdsInput(of: segment) { start = before }
            for case let block as any ResidualBlock in stage.layers {
                if streaming.holdsBlocks { start = before }
                var path = 0.0
                var output = size
                var firstPass: Int?
                for (index, (conv, norm)) in zip(block.mainPath, block.mainNorms).enumerated() {
                    let (count, next) = conv.multiplyAdds(inputSize: output)
                    path += count
                    output = next
                    guard trains(norm) else { continue }
                    if index == 0 { firstPass = passes.count }
                    pass(before - start + path)
                }
                let shortcut = block.shortcutLayers.map { $0.conv.multiplyAdds(inputSize: size).count } ?? 0
                if let norm = block.shortcutLayers?.norm, trains(norm) {
                    // With the block's first BatchNorm, one pass computes both convolutions.
                    if let firstPass, block.shortcutSharesFirstPass { passes[firstPass] += shortcut } else { pass(before - start + shortcut) }
                }
                before += path + shortcut
                size = output
            }
        }
        let streamed = zip(passes, fromImage).reduce(0) { $0 + 4 * $1.0 - ($1.1 ? stem.count : 0) } + before
        let tail = segments.filter { $0 > streaming.through }.reduce(0) { $0 + (costs[$1] ?? 0) }
        return (streamed + tail) / step
    }
}

extension Conv2d {
    /// Multiply-adds for one sample with a square input of `inputSize`, and the output size.
    func multiplyAdds(inputSize: Int) -> (count: Double, outputSize: Int) {
        let shape = weight.shape  // out, in/groups, kh, kw
        let output = (inputSize + 2 * padding.0 - dilation.0 * (shape[2] - 1) - 1) / stride.0 + 1
        let perPixel = Double(shape[0] * shape[1] * shape[2] * shape[3])
        return (perPixel * Double(output * output), output)
    }
}

extension ResidualBlock {
    /// The block's convolutions, each fed the previous one's output, and the shortcut's.
    func multiplyAdds(inputSize: Int) -> (count: Double, outputSize: Int) {
        var size = inputSize
        var total = 0.0
        for conv in mainPath {
            let (count, output) = conv.multiplyAdds(inputSize: size)
            total += count
            size = output
        }
        for case let conv as Conv2d in downsample?.layers ?? [] {
            total += conv.multiplyAdds(inputSize: inputSize).count
        }
        return (total, size)
    }
}

extension ResNet {
    /// What holding `streaming`'s maps adds, per sample at `resolution`: the input of each
    /// stage from ``Streaming/heldFrom`` on (or every block's output), less the streamed
    /// output (held anyway), in float32, and in backward a gradient of each.
    public func heldStageBytes(_ streaming: Streaming, resolution: Int) -> Int {
        guard streaming.holdsStages else { return 0 }
        let stemSize = conv1.multiplyAdds(inputSize: resolution).outputSize
        var size = (stemSize + 2 * maxpool.padding - maxpool.kernelSize) / maxpool.stride + 1
        var channels = conv1.weight.shape[0]
        var maps: [Int] = []
        for (segment, stage) in zip(Segment.stages, stages) where segment <= streaming.through {
            if streaming.holdsInput(of: segment) { maps.append(channels * size * size) }
            for (index, block) in stage.layers.compactMap({ $0 as? any ResidualBlock }).enumerated() {
                // Each block's input but the stage's first (counted above) when blocks are held.
                if streaming.holdsBlocks && index > 0 { maps.append(channels * size * size) }
                size = block.multiplyAdds(inputSize: size).outputSize
                channels = block.mainPath.last?.weight.shape[0] ?? channels
            }
        }
        return 2 * MemoryLayout<Float>.size * maps.reduce(0, +)
    }
}
