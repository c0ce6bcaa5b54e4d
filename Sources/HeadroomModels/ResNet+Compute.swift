import Torch
import TorchNN

/// What a layer's work costs in time, in multiply-adds of a wide convolution. Multiply-adds
/// alone undercount the early layers: their maps are large and thin, so the BatchNorm and
/// ReLU on each output element weigh more beside the convolution, and a convolution on an
/// RGB image runs far below a wide one's rate. Measured with libtorch 2.11 (fp32, 2 threads,
/// AMD EPYC with AVX-512, resnet18 at 1024 px, `bench/layer_costs.py`): 3×3 convolutions ran
/// at 84–105 G multiply-adds/s in every stage, a BatchNorm and ReLU took as long as 159–167
/// multiply-adds per element, and conv1 ran 2.7–3.3 times slower per multiply-add.
public struct ComputeWeights: Sendable, Equatable {
    /// One output element's BatchNorm and ReLU, in multiply-adds.
    public var perElement: Double
    /// How many times a multiply-add of a convolution on fewer than 8 input channels costs.
    public var narrowInput: Double

    public static let measured = ComputeWeights(perElement: 160, narrowInput: 2.7)
    /// Multiply-adds alone (the published model tables' count).
    public static let multiplyAdds = ComputeWeights(perElement: 0, narrowInput: 1)
}

extension ResNet {
    /// Multiply-adds of one sample's forward pass at `resolution`² px, per segment (the
    /// classifier's are left out: under 0.1% of the total).
    public func forwardMultiplyAdds(resolution: Int) -> [Segment: Double] {
        forwardCosts(resolution: resolution, weights: .multiplyAdds)
    }

    /// The time of one sample's forward pass at `resolution`² px, per segment, in
    /// multiply-adds (``ComputeWeights``).
    public func forwardCosts(resolution: Int, weights: ComputeWeights) -> [Segment: Double] {
        var size = resolution
        var costs: [Segment: Double] = [:]
        let stem = conv1.cost(inputSize: size, weights: weights)
        size = (stem.outputSize + 2 * maxpool.padding - maxpool.kernelSize) / maxpool.stride + 1
        costs[.stem] = stem.count
        for (segment, stage) in zip(Segment.stages, stages) {
            var total = 0.0
            for case let block as any ResidualBlock in stage.layers {
                let (count, output) = block.cost(inputSize: size, weights: weights)
                total += count
                size = output
            }
            costs[segment] = total
        }
        return costs
    }

    /// A training step's time for one sample, from its forward's `costs`: three forward passes
    /// (forward, and backward at twice that), less conv1's input gradient, which no step computes.
    func stepCost(forward costs: [Segment: Double], resolution: Int, weights: ComputeWeights) -> Double {
        3 * costs.values.reduce(0, +) - conv1.inputGradientCost(inputSize: resolution, weights: weights)
    }

    /// The extra compute of recomputing `segments` in backward, as a fraction of a training
    /// step (``stepCost(forward:resolution:weights:)``), counted in time (``ComputeWeights``).
    /// The banded stem (see ``usesBandedStem(inputRows:segments:)``) runs conv1 four more
    /// times than a plain step: the statistics pass, the band pass, the statistics' recompute
    /// and its extra weight gradient (five forwards' worth, less an input gradient).
    public func recomputeOverhead(of segments: Set<Segment>, resolution: Int, weights: ComputeWeights = .measured) -> Double {
        let costs = forwardCosts(resolution: resolution, weights: weights)
        let step = stepCost(forward: costs, resolution: resolution, weights: weights)
        guard step > 0 else { return 0 }
        // The banded stem's five passes of conv1 and its norm, less an input gradient none needs.
        let bandedStem = 5 * (costs[.stem] ?? 0) - conv1.inputGradientCost(inputSize: resolution, weights: weights)
        let banded = usesBandedStem(inputRows: resolution, segments: segments)
        return segments.reduce(0) { $0 + ($1 == .stem && banded ? bandedStem : costs[$1] ?? 0) } / step
    }
}

extension ResNet {
    /// The extra compute of `streaming` with the segments after it in `segments` recomputed,
    /// as a fraction of a plain training step. Each BatchNorm's statistics pass runs
    /// everything before it: forward, again in backward's recompute, then backward (twice a
    /// forward, less conv1's input gradient, never needed); a downsampling block's first and
    /// shortcut BatchNorms share one pass. The output bands are recomputed once. Every pass
    /// computes its halos too (``HaloChain``). Frozen BatchNorms need no statistics pass:
    /// streaming then costs the bands' recompute alone; `assumingFrozenBatchNorm` prices that
    /// choice for a model that trains its BatchNorms. With held stage outputs a pass
    /// recomputes from its stage's input, not the image. Counted in time (``ComputeWeights``).
    public func recomputeOverhead(
        of segments: Set<Segment>, streaming: Streaming?, resolution: Int, assumingFrozenBatchNorm: Bool = false,
        weights: ComputeWeights = .measured
    ) -> Double {
        guard let streaming else { return recomputeOverhead(of: segments, resolution: resolution, weights: weights) }
        let costs = forwardCosts(resolution: resolution, weights: weights)
        let step = stepCost(forward: costs, resolution: resolution, weights: weights)
        guard step > 0 else { return 0 }
        let bands = streaming.bands
        let stem = conv1.cost(inputSize: resolution, weights: weights)
        let stemInputGradient = conv1.inputGradientCost(inputSize: resolution, weights: weights)
        var size = maxpool.rowWindow.outputHeight(inputHeight: stem.outputSize)
        let stemLayer = HaloChain.Layer(count: stem.count, rows: stem.outputSize, window: conv1.rowWindow)
        // What a pass computes from where it starts: the image, or a held map.
        var chain = HaloChain(layers: [stemLayer, .init(count: 0, rows: size, window: maxpool.rowWindow)])
        var startsAtImage = true
        var passes = 0.0  // the statistics passes' compute, each four times a forward
        var recomputed = 0.0  // the output bands' recompute, of each held segment
        func trains(_ norm: BatchNorm2d) -> Bool { !assumingFrozenBatchNorm && norm.isTraining && !norm.isFrozen }
        func pass(_ layers: HaloChain) {
            passes += 4 * layers.compute(bands: bands) - (startsAtImage ? stemInputGradient : 0)
        }
        func hold() {
            recomputed += chain.compute(bands: bands)
            chain = HaloChain(layers: [])
            startsAtImage = false
        }
        if trains(bn1) { pass(HaloChain(layers: [stemLayer])) }
        for (segment, stage) in zip(Segment.stages, stages) where segment <= streaming.through {
            if streaming.holdsInput(of: segment) { hold() }
            for case let block as any ResidualBlock in stage.layers {
                if streaming.holdsBlocks { hold() }
                let shortcut = block.shortcutLayers
                let shortcutCount = shortcut?.conv.cost(inputSize: size, weights: weights).count ?? 0
                var path: [HaloChain.Layer] = []
                var output = size
                var sharedShortcut = false
                for (index, (conv, norm)) in zip(block.mainPath, block.mainNorms).enumerated() {
                    let (count, next) = conv.cost(inputSize: output, weights: weights)
                    path.append(.init(count: count, rows: next, window: conv.rowWindow))
                    output = next
                    guard trains(norm) else { continue }
                    var layers = chain.layers + path
                    // With the block's first BatchNorm, one pass computes both convolutions.
                    if index == 0, let shortcut, block.shortcutSharesFirstPass, trains(shortcut.norm) {
                        layers[layers.count - 1].side = shortcutCount
                        sharedShortcut = true
                    }
                    pass(HaloChain(layers: layers))
                }
                if let shortcut {
                    if trains(shortcut.norm), !sharedShortcut {
                        pass(HaloChain(layers: chain.layers + [.init(count: shortcutCount, rows: output, window: shortcut.conv.rowWindow)]))
                    }
                    path[path.count - 1].side = shortcutCount
                }
                chain.layers += path
                size = output
            }
        }
        hold()
        let tail = segments.filter { $0 > streaming.through }.reduce(0) { $0 + (costs[$1] ?? 0) }
        return (passes + recomputed + tail) / step
    }
}

/// The layers a streamed pass computes, from where it starts to the map it is cut at, each
/// with the window its input is read through. Cutting the last map into bands costs more
/// than the map: each band also computes, in every layer before, the rows its windows read
/// beyond its own share (its halo). Back from the cut, a band's halo grows through each
/// window to `halo · stride + kernel − stride` rows (a 3×3 convolution adds two), so a
/// layer whose map has `rows` rows costs `1 + (bands − 1) · halo / rows` times its
/// multiply-adds (at most `bands` times: no band computes more than the whole map).
struct HaloChain {
    struct Layer {
        /// The cost of the whole map (multiply-adds, or time: ``ComputeWeights``), and its rows.
        var count: Double
        var rows: Int
        var window: RowWindow
        /// A convolution beside this one, computed on the same rows (a downsampling shortcut).
        var side = 0.0
    }

    var layers: [Layer]

    /// The multiply-adds with the last map cut into `bands` bands (fewer where it has fewer rows).
    func compute(bands: Int) -> Double {
        guard let last = layers.last else { return 0 }
        let bands = Double(max(1, min(bands, last.rows)))
        var halo = 0.0
        var total = 0.0
        for layer in layers.reversed() {
            total += (layer.count + layer.side) * min(bands, 1 + (bands - 1) * halo / Double(max(1, layer.rows)))
            halo = max(0, halo * Double(layer.window.stride) + Double(layer.window.kernel - layer.window.stride))
        }
        return total
    }
}

extension Conv2d {
    /// Multiply-adds for one sample with a square input of `inputSize`, and the output size.
    func multiplyAdds(inputSize: Int) -> (count: Double, outputSize: Int) {
        cost(inputSize: inputSize, weights: .multiplyAdds)
    }

    /// The time of the convolution and of the BatchNorm and ReLU on its output, in
    /// multiply-adds (``ComputeWeights``), for one sample with a square input of `inputSize`.
    func cost(inputSize: Int, weights: ComputeWeights) -> (count: Double, outputSize: Int) {
        let shape = weight.shape  // out, in/groups, kh, kw
        let output = (inputSize + 2 * padding.0 - dilation.0 * (shape[2] - 1) - 1) / stride.0 + 1
        let perPixel = Double(shape[0] * shape[1] * shape[2] * shape[3])
        let rate = shape[1] < 8 ? weights.narrowInput : 1
        let elements = Double(shape[0] * output * output)
        return (perPixel * Double(output * output) * rate + weights.perElement * elements, output)
    }

    /// The time of the input's gradient (the convolution's multiply-adds again, at its rate).
    func inputGradientCost(inputSize: Int, weights: ComputeWeights) -> Double {
        cost(inputSize: inputSize, weights: ComputeWeights(perElement: 0, narrowInput: weights.narrowInput)).count
    }
}

extension ResidualBlock {
    /// The block's convolutions, each fed the previous one's output, and the shortcut's, in
    /// time (``Conv2d/cost(inputSize:weights:)``).
    func cost(inputSize: Int, weights: ComputeWeights) -> (count: Double, outputSize: Int) {
        var size = inputSize
        var total = 0.0
        for conv in mainPath {
            let (count, output) = conv.cost(inputSize: size, weights: weights)
            total += count
            size = output
        }
        for case let conv as Conv2d in downsample?.layers ?? [] {
            total += conv.cost(inputSize: inputSize, weights: weights).count
        }
        return (total, size)
    }

    /// The block's convolutions' multiply-adds, and its output size.
    func multiplyAdds(inputSize: Int) -> (count: Double, outputSize: Int) {
        cost(inputSize: inputSize, weights: .multiplyAdds)
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
