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
/// whole (``Streaming/heldFrom``, where memory allows) starts every pass at its stage's
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
        /// The first stage whose input is held whole, and every streamed stage after it: each
        /// of those stages streams from the held map rather than from the image. Less
        /// recompute, more memory (each held map and, in backward, its gradient). The deepest
        /// stages' inputs are the smallest maps and save the most (each of their statistics
        /// passes would recompute everything before them), so a budget holds from the end:
        /// `.layer3` holds layer2's output alone, `.layer1` the stem's output and every stage's.
        public var heldFrom: Segment?
        /// Whether every streamed block's output is held whole too (implies `heldFrom` `.layer1`):
        /// each statistics pass then recomputes at most its own block.
        public var holdsBlocks: Bool

        /// Whether any stage streams from a held map.
        public var holdsStages: Bool { heldFrom != nil }

        /// `holdsStages`: every stage's input held (`heldFrom` `.layer1`). A `heldFrom` after
        /// `through` holds nothing.
        public init(through: Segment, bands: Int, holdsStages: Bool = false, holdsBlocks: Bool = false, heldFrom: Segment? = nil) {
            self.through = through
            self.bands = max(1, bands)
            let from = holdsStages || holdsBlocks ? Segment.layer1 : heldFrom.map { max($0, .layer1) }
            self.heldFrom = from.flatMap { $0 <= through ? $0 : nil }
            self.holdsBlocks = holdsBlocks && self.heldFrom != nil
        }

        /// Whether `stage` streams from a held input rather than from the image.
        public func holdsInput(of stage: Segment) -> Bool {
            heldFrom.map { stage >= $0 && stage <= through } ?? false
        }

        public var description: String {
            let held = switch heldFrom {
            case nil: ""
            case .layer1?: holdsBlocks ? ", block outputs held" : ", stage outputs held"
            case let first?: ", stage outputs held from \(first.rawValue)'s input"
            }
            return "through \(through.rawValue) in \(bands) bands" + held
        }

        private enum CodingKeys: String, CodingKey { case through, bands, heldFrom, holdsStages, holdsBlocks }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                through: try container.decode(Segment.self, forKey: .through), bands: try container.decode(Int.self, forKey: .bands),
                holdsStages: try container.decodeIfPresent(Bool.self, forKey: .holdsStages) ?? false,
                holdsBlocks: try container.decodeIfPresent(Bool.self, forKey: .holdsBlocks) ?? false,
                heldFrom: try container.decodeIfPresent(Segment.self, forKey: .heldFrom))
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(through, forKey: .through)
            try container.encode(bands, forKey: .bands)
            try container.encodeIfPresent(heldFrom, forKey: .heldFrom)
            try container.encode(holdsBlocks, forKey: .holdsBlocks)
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
        guard let first = streaming.heldFrom else {
            let layout = StreamedLayout(model: self, through: streaming.through, inputRows: input.shape[2], normalising: normalising)
            return try streamed(input, layout, bands: streaming.bands)
        }
        // Everything before the first held input from the image, then each stage (or each
        // block) from the one before's output, held whole.
        let beforeHeld = Segment.allCases[Segment.allCases.firstIndex(of: first)! - 1]
        var held = try streamed(
            input, StreamedLayout(model: self, through: beforeHeld, inputRows: input.shape[2], normalising: normalising), bands: streaming.bands)
        for (segment, stage) in zip(Segment.stages, stages) where streaming.holdsInput(of: segment) {
            let blocks = stage.layers.compactMap { $0 as? any ResidualBlock }
            for part in streaming.holdsBlocks ? blocks.map({ [$0] }) : [blocks] {
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
