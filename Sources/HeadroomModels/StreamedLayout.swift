import Torch
import TorchNN

/// Where a BatchNorm of the streamed part sits: the stem's, one after a block's main-path
/// convolution, or a block's shortcut's.
enum NormSite: Hashable {
    case stem
    case path(block: Int, index: Int)
    case shortcut(block: Int)
}

/// The sizes of every map of a ResNet's streamed part along one axis (rows or columns):
/// the windows are square, so rows and columns follow the same arithmetic.
struct StreamedSizes {
    let input: Int
    let stemConv: Int
    let stem: Int
    /// Per block: the output size of each main-path convolution (the last is the block's).
    let paths: [[Int]]

    /// `startsAtStem` false: `input` is a held map, the first block's input (there is no stem).
    init(input: Int, model: ResNet, blocks: [any ResidualBlock], startsAtStem: Bool = true) {
        self.input = input
        stemConv = startsAtStem ? model.conv1.rowWindow.outputHeight(inputHeight: input) : input
        stem = startsAtStem ? model.maxpool.rowWindow.outputHeight(inputHeight: stemConv) : input
        var size = stem
        var paths: [[Int]] = []
        for block in blocks {
            var sizes: [Int] = []
            for conv in block.mainPath {
                size = conv.rowWindow.outputHeight(inputHeight: size)
                sizes.append(size)
            }
            paths.append(sizes)
        }
        self.paths = paths
    }

    /// The size of block `block`'s input.
    func blockInput(_ block: Int) -> Int { block == 0 ? stem : paths[block - 1].last! }
    var output: Int { paths.last?.last ?? stem }

    /// The size of the map a BatchNorm normalises.
    func normalised(_ site: NormSite) -> Int {
        switch site {
        case .stem: stemConv
        case .path(let block, let index): paths[block][index]
        case .shortcut(let block): paths[block].last!
        }
    }
}

/// The streamed part of a ResNet, or one segment of it: the stem and every block up to the end
/// of the last streamed stage (or, from a held map, the blocks of the stages `first` through
/// `last`), with each map's rows and every BatchNorm in the order its statistics are gathered
/// (each needs only those before it).
struct StreamedLayout {
    let model: ResNet
    /// Whether the input is the image (else a held map, the first block's input).
    let startsAtStem: Bool
    let blocks: [any ResidualBlock]
    let rows: StreamedSizes
    let norms: [NormSite]
    let normIndex: [NormSite: Int]
    /// The BatchNorms whose statistics one pass gathers: a downsampling block's first and
    /// shortcut BatchNorms normalise convolutions of the same block input, so one pass over
    /// the bands computes both (one pass fewer per downsampling block, each a prefix's worth).
    let passes: [[NormSite]]
    /// How the input's uint8 rows become floats, when the input is pixels.
    let normalising: PixelNormalisation?

    init(
        model: ResNet, from first: ResNet.Segment = .stem, through last: ResNet.Segment, inputRows: Int, normalising: PixelNormalisation? = nil
    ) {
        let stages = zip(ResNet.Segment.stages, model.stages).filter { $0.0 >= first && $0.0 <= last }
        self.init(
            model: model, startsAtStem: first == .stem, blocks: stages.flatMap { $0.1.layers.compactMap { $0 as? any ResidualBlock } },
            inputRows: inputRows, normalising: normalising)
    }

    /// `blocks` alone, from a held map (`startsAtStem` false) or from the image through the stem.
    init(model: ResNet, startsAtStem: Bool, blocks: [any ResidualBlock], inputRows: Int, normalising: PixelNormalisation? = nil) {
        self.model = model
        self.startsAtStem = startsAtStem
        self.normalising = startsAtStem ? normalising : nil
        self.blocks = blocks
        rows = StreamedSizes(input: inputRows, model: model, blocks: blocks, startsAtStem: startsAtStem)
        var passes: [[NormSite]] = startsAtStem ? [[.stem]] : []
        for (index, block) in blocks.enumerated() {
            let path = block.mainPath.indices.map { [NormSite.path(block: index, index: $0)] }
            passes += path
            guard block.downsample != nil else { continue }
            if block.shortcutSharesFirstPass {
                passes[passes.count - path.count].append(.shortcut(block: index))
            } else {
                passes.append([.shortcut(block: index)])
            }
        }
        self.passes = passes
        let norms = passes.flatMap { $0 }
        self.norms = norms
        normIndex = Dictionary(uniqueKeysWithValues: norms.enumerated().map { ($1, $0) })
    }

    func norm(_ site: NormSite) -> BatchNorm2d {
        switch site {
        case .stem: model.bn1
        case .path(let block, let index): blocks[block].mainNorms[index]
        case .shortcut(let block): blocks[block].shortcutLayers!.norm
        }
    }

    /// The convolution whose output a BatchNorm normalises.
    func conv(_ site: NormSite) -> Conv2d {
        switch site {
        case .stem: model.conv1
        case .path(let block, let index): blocks[block].mainPath[index]
        case .shortcut(let block): blocks[block].shortcutLayers!.conv
        }
    }

    /// The trainable tensors the streamed part uses.
    var parameters: [Tensor] {
        let convs = (startsAtStem ? [model.conv1] : []) + blocks.flatMap { $0.mainPath + ($0.shortcutLayers.map { [$0.conv] } ?? []) }
        let normParameters = norms.map(norm).flatMap { [$0.weight, $0.bias] }
        return (convs.flatMap { $0.parameters.map(\.tensor) } + normParameters).filter(\.requiresGradient)
    }

    // MARK: - Which rows each map needs

    /// The rows of each main-path convolution's output of `block` up to `last` that its
    /// output rows `output` need, each within its map.
    func pathRows(_ block: Int, upTo last: Int, output: Range<Int>) -> [Range<Int>] {
        let path = blocks[block].mainPath
        var needed = [output]
        for index in stride(from: last, to: 0, by: -1) {
            needed.insert(clip(path[index].rowWindow.inputRows(for: needed[0]), to: rows.paths[block][index - 1]), at: 0)
        }
        return needed
    }

    /// The rows of `block`'s input that its main path up to convolution `last` (and, for the
    /// block's output, the shortcut) read for output rows `output`.
    func blockInputRows(_ block: Int, upTo last: Int, output: Range<Int>, withShortcut: Bool) -> Range<Int> {
        let first = pathRows(block, upTo: last, output: output)[0]
        var needed = blocks[block].mainPath[0].rowWindow.inputRows(for: first)
        if withShortcut {
            needed = needed.union(blocks[block].shortcutLayers.map { $0.conv.rowWindow.inputRows(for: output) } ?? output)
        }
        return clip(needed, to: rows.blockInput(block))
    }

    /// The input rows conv1 reads for its output rows `output`.
    func stemInputRows(convRows output: Range<Int>) -> Range<Int> {
        clip(model.conv1.rowWindow.inputRows(for: output), to: rows.input)
    }

    func clip(_ range: Range<Int>, to size: Int) -> Range<Int> { max(0, range.lowerBound)..<min(size, range.upperBound) }
}

extension ResidualBlock {
    /// The shortcut's 1×1 convolution and its BatchNorm, where the block changes shape.
    var shortcutLayers: (conv: Conv2d, norm: BatchNorm2d)? {
        guard let layers = downsample?.layers, let conv = layers.first as? Conv2d, let norm = layers.last as? BatchNorm2d
        else { return nil }
        return (conv, norm)
    }

    /// Whether the shortcut's BatchNorm gets its statistics in the pass of the block's first:
    /// both normalise a convolution of the block's input, into maps of one shape (not so in a
    /// bottleneck, whose first convolution does not stride).
    var shortcutSharesFirstPass: Bool {
        guard let shortcut = shortcutLayers?.conv, let first = mainPath.first else { return false }
        return first.stride == shortcut.stride && first.weight.shape[0] == shortcut.weight.shape[0]
    }
}
