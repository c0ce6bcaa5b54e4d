import Torch
import TorchNN

/// One band's computation through the streamed part: any rows of any map, from the whole
/// input and the BatchNorm statistics gathered so far, reading only the rows each step's
/// window needs (the halo) and padding only at the map's true edges. Runs inside a
/// checkpointed segment, so what it builds is freed after the band and rebuilt in backward.
struct StreamedPass {
    let layout: StreamedLayout
    let input: RowBand
    /// Per BatchNorm, in the layout's order: mean and inverse deviation, [1, C, 1, 1].
    let statistics: [(mean: Tensor, inverseDeviation: Tensor)]

    /// `inputs`: the whole input, then mean and inverse deviation of each BatchNorm known.
    init(layout: StreamedLayout, inputs: [Tensor]) {
        self.layout = layout
        input = RowBand(tensor: inputs[0], range: 0..<layout.rows.input)
        statistics = stride(from: 1, to: inputs.count - 1, by: 2).map { (inputs[$0], inputs[$0 + 1]) }
    }

    /// The inputs of one statistics pass's BatchNorms (``StreamedLayout/passes``), rows
    /// `rows`: the outputs of the convolutions before them.
    func normalised(_ sites: [NormSite], rows: Range<Int>) throws(TorchError) -> [RowBand] {
        switch sites.first {
        case .stem:
            return [try stemConv(rows: rows)]
        case .path(let block, let index) where index > 0:
            let needed = layout.blockInputRows(block, upTo: index, output: rows, withShortcut: false)
            return [try path(block, upTo: index, input: blockInput(block, rows: needed), output: rows)]
        case .path(let block, _), .shortcut(let block):
            // Convolutions of the block's input (its first, and the shortcut's): read it once.
            let height = layout.rows.blockInput(block)
            let read = sites.map { layout.conv($0).rowWindow.inputRows(for: rows) }
            let needed = read.dropFirst().reduce(read[0]) { $0.union($1) }
            let x = try blockInput(block, rows: layout.clip(needed, to: height))
            return try sites.map { (site) throws(TorchError) in try layout.conv(site)(x, rows: rows, inputHeight: height) }
        case nil:
            return []
        }
    }

    /// Rows of the streamed part's output.
    func output(rows: Range<Int>) throws(TorchError) -> Tensor {
        try (layout.blocks.isEmpty ? stem(rows: rows) : blockOutput(layout.blocks.count - 1, rows: rows)).tensor
    }

    // MARK: - Maps

    /// conv1 → bn1 → ReLU → max-pool.
    private func stem(rows: Range<Int>) throws(TorchError) -> RowBand {
        let sizes = layout.rows
        let convRows = layout.clip(layout.model.maxpool.rowWindow.inputRows(for: rows), to: sizes.stemConv)
        let c = try normalise(.stem, stemConv(rows: convRows))
        try c.tensor.reluInPlace()
        return try layout.model.maxpool(c, rows: rows, inputHeight: sizes.stemConv)
    }

    /// conv1's output rows, from the input rows they read (normalised here when the input
    /// is pixels: before the padding, which is zero in the normalised image).
    private func stemConv(rows: Range<Int>) throws(TorchError) -> RowBand {
        var band = input
        if let normalise = layout.normalising {
            let read = layout.stemInputRows(convRows: rows)
            band = RowBand(tensor: try normalise(input.tensor.slice(dim: 2, read)), range: read)
        }
        return try layout.model.conv1(band, rows: rows, inputHeight: layout.rows.input)
    }

    private func blockInput(_ block: Int, rows: Range<Int>) throws(TorchError) -> RowBand {
        guard block == 0 else { return try blockOutput(block - 1, rows: rows) }
        // From a held map, the first block reads its rows as they are.
        return layout.startsAtStem ? try stem(rows: rows) : RowBand(tensor: try input.rows(rows, height: layout.rows.input), range: rows)
    }

    private func blockOutput(_ block: Int, rows: Range<Int>) throws(TorchError) -> RowBand {
        let last = layout.blocks[block].mainPath.count - 1
        let needed = layout.blockInputRows(block, upTo: last, output: rows, withShortcut: true)
        let x = try blockInput(block, rows: needed)
        let main = try normalise(.path(block: block, index: last), path(block, upTo: last, input: x, output: rows))
        let height = layout.rows.blockInput(block)
        let shortcut: Tensor
        if let (conv, _) = layout.blocks[block].shortcutLayers {
            shortcut = try normalise(.shortcut(block: block), conv(x, rows: rows, inputHeight: height)).tensor
        } else {
            shortcut = try x.rows(rows, height: height)
        }
        try main.tensor += shortcut
        try main.tensor.reluInPlace()
        return main
    }

    /// The main path of `block` from its input band to convolution `last`'s output rows
    /// `output`, before that convolution's BatchNorm.
    private func path(_ block: Int, upTo last: Int, input: RowBand, output: Range<Int>) throws(TorchError) -> RowBand {
        let convs = layout.blocks[block].mainPath
        let needed = layout.pathRows(block, upTo: last, output: output)
        var x = input
        var height = layout.rows.blockInput(block)
        for index in 0...last {
            x = try convs[index](x, rows: needed[index], inputHeight: height)
            height = layout.rows.paths[block][index]
            if index < last {
                x = try normalise(.path(block: block, index: index), x)
                try x.tensor.reluInPlace()
            }
        }
        return x
    }

    /// BatchNorm with the statistics given: (x − mean) · weight · inverse deviation + bias.
    private func normalise(_ site: NormSite, _ x: RowBand) throws(TorchError) -> RowBand {
        let norm = layout.norm(site)
        let (mean, inverseDeviation) = statistics[layout.normIndex[site]!]
        let scale = try norm.weight.reshaped([1, -1, 1, 1]) * inverseDeviation
        return RowBand(tensor: try (x.tensor - mean) * scale + norm.bias.reshaped([1, -1, 1, 1]), range: x.range)
    }
}
