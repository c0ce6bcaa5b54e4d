import Torch
import TorchNN

/// Streaming: the network from the image to the end of a stage, computed in horizontal bands
/// (Pinckaers, van Ginneken and Litjens, 2019), so that no map of that part is ever held
/// whole; only its output is, for the stages after it. Each band reads the rows its
/// receptive field needs and is a checkpointed segment: backward recomputes it band by band.
///
/// Unlike the paper, BatchNorm keeps training on batch statistics. Each BatchNorm's statistics
/// need every pixel of its input, so they are gathered first, one BatchNorm after another, from
/// per-band sums (in float64) that are checkpointed segments too; mean and inverse deviation
/// then enter the later bands as differentiable inputs, so gradients flow through the
/// statistics exactly as through `batch_norm`, and the running statistics are updated once.
/// That is the price: the k-th BatchNorm's pass recomputes everything before it, so the
/// compute grows with the square of the streamed depth. Holding each streamed stage's output
/// whole (``Streaming/holdsStages``, where memory allows) starts every pass at its stage's
/// input instead of the image: the stages stream one after another, each from the last's
/// output, and the recompute grows with the square of a stage's depth, not the whole part's;
/// holding every block's output (``Streaming/holdsBlocks``) bounds it by one block's depth.
extension ResNet {
    /// How far streaming reaches and how finely it cuts.
    public struct Streaming: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The last streamed segment (`.stem`: the stem alone).
        public var through: Segment
        /// Bands of each map's rows (of the streamed output, and of each BatchNorm's input).
        public var bands: Int
        /// Whether each streamed stage's output (and the stem's) is held whole, so that the
        /// next stage streams from it rather than from the image: less recompute, more memory
        /// (each held map and, in backward, its gradient).
        public var holdsStages: Bool
        /// Whether every streamed block's output is held whole too (implies `holdsStages`):
        /// each statistics pass then recomputes at most its own block.
        public var holdsBlocks: Bool

        public init(through: Segment, bands: Int, holdsStages: Bool = false, holdsBlocks: Bool = false) {
            self.through = through
            self.bands = max(1, bands)
            self.holdsStages = holdsStages || holdsBlocks
            self.holdsBlocks = holdsBlocks
        }

        public var description: String {
            "through \(through.rawValue) in \(bands) bands" + (holdsBlocks ? ", block outputs held" : holdsStages ? ", stage outputs held" : "")
        }

        private enum CodingKeys: String, CodingKey { case through, bands, holdsStages, holdsBlocks }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                through: try container.decode(Segment.self, forKey: .through), bands: try container.decode(Int.self, forKey: .bands),
                holdsStages: try container.decodeIfPresent(Bool.self, forKey: .holdsStages) ?? false,
                holdsBlocks: try container.decodeIfPresent(Bool.self, forKey: .holdsBlocks) ?? false)
        }

        /// Bands of at most `rowsPerBand` input rows, and at least `minimumBands`, for images
        /// `inputRows` tall: a band's memory grows with its rows (halo included) times the
        /// width, so a bounded height keeps it proportional to the width as images grow
        /// taller, where a fixed count would let it grow with the area. Small images still
        /// get `minimumBands` (their halo is the larger cost).
        public init(through: Segment, rowsPerBand: Int, minimumBands: Int, inputRows: Int, holdsStages: Bool = false) {
            self.init(
                through: through, bands: max(minimumBands, (inputRows + rowsPerBand - 1) / max(1, rowsPerBand)), holdsStages: holdsStages)
        }
    }

    /// The streamed part's output: the stem's, or the last streamed stage's. With
    /// `normalising`, `input` is uint8 pixels and each band normalises the rows it reads.
    func streamed(_ input: Tensor, _ streaming: Streaming, normalising: PixelNormalisation? = nil) throws(TorchError) -> Tensor {
        guard streaming.holdsStages, streaming.through > .stem else {
            let layout = StreamedLayout(model: self, through: streaming.through, inputRows: input.shape[2], normalising: normalising)
            return try streamed(input, layout, bands: streaming.bands)
        }
        // The stem, then each stage (or each block) from the one before's output, held whole.
        var held = try streamed(input, StreamedLayout(model: self, through: .stem, inputRows: input.shape[2], normalising: normalising),
                                bands: streaming.bands)
        for (segment, stage) in zip(Segment.stages, stages) where segment <= streaming.through {
            let blocks = stage.layers.compactMap { $0 as? any ResidualBlock }
            for part in streaming.holdsBlocks ? blocks.map { [$0] } : [blocks] {
                let layout = StreamedLayout(model: self, startsAtStem: false, blocks: part, inputRows: held.shape[2])
                held = try streamed(held, layout, bands: streaming.bands)
            }
        }
        return held
    }

    /// One streamed layout's output, its statistics gathered pass by pass from `input`.
    private func streamed(_ input: Tensor, _ layout: StreamedLayout, bands: Int) throws(TorchError) -> Tensor {
        let columns = StreamedSizes(input: input.shape[3], model: self, blocks: layout.blocks, startsAtStem: layout.startsAtStem)
        let parameters = layout.parameters
        var statistics: [Tensor] = []
        for pass in layout.passes {
            // Every BatchNorm of a pass normalises a map of the same rows.
            let height = layout.rows.normalised(pass[0])
            let trained = pass.map { (site) in layout.norm(site).isTraining && !layout.norm(site).isFrozen }
            var sums: Tensor?
            if trained.contains(true) {
                for rows in (0..<height).bands(bands) {
                    let partial = try checkpoint([input] + statistics, parameters: parameters) { (inputs) throws(TorchError) in
                        var sums: [Tensor] = []
                        for map in try StreamedPass(layout: layout, inputs: inputs).normalised(pass, rows: rows) {
                            let c = try map.tensor.to(dtype: .float64)
                            sums += [try c.sum(dims: [0, 2, 3]), try c.square().sum(dims: [0, 2, 3])]
                        }
                        return try Tensor.stack(sums)
                    }
                    sums = try sums.map { (total) throws(TorchError) in try total + partial } ?? partial
                }
            }
            let count = Double(input.shape[0] * height * columns.normalised(pass[0]))
            for (index, site) in pass.enumerated() {
                let norm = layout.norm(site)
                let (mean, variance): (Tensor, Tensor)
                if trained[index], let sums {
                    mean = try sums.select(dim: 0, index: 2 * index) / count
                    variance = try (sums.select(dim: 0, index: 2 * index + 1) / count - mean.square()).clamped(min: 0)
                    try norm.updateRunningStatistics(mean: mean, variance: variance, count: count)
                } else {
                    (mean, variance) = (norm.runningMean, norm.runningVariance)
                }
                // Back to the weights' type (float32, or float64 when the whole run is).
                let type = norm.weight.dtype
                statistics.append(try mean.to(dtype: type).reshaped([1, -1, 1, 1]))
                statistics.append(try (variance + norm.epsilon).rsqrt().to(dtype: type).reshaped([1, -1, 1, 1]))
            }
        }
        var outputs: [Tensor] = []
        for rows in (0..<layout.rows.output).bands(bands) {
            outputs.append(try checkpoint([input] + statistics, parameters: parameters) { (inputs) throws(TorchError) in
                try StreamedPass(layout: layout, inputs: inputs).output(rows: rows)
            })
        }
        return try Tensor.cat(outputs, dim: 2)
    }
}

extension BatchNorm2d {
    /// What `batch_norm` does to the running statistics in training (unbiased variance),
    /// from batch statistics gathered elsewhere.
    func updateRunningStatistics(mean: Tensor, variance: Tensor, count: Double) throws(TorchError) {
        try withoutGradient { () throws(TorchError) in
            let unbiased = try variance * (count / max(count - 1, 1))
            try runningMean.copyInPlace(from: runningMean * (1 - momentum) + mean.to(dtype: runningMean.dtype) * momentum)
            try runningVariance.copyInPlace(from: runningVariance * (1 - momentum) + unbiased.to(dtype: runningVariance.dtype) * momentum)
            try batchesTracked += 1
        }
    }
}
