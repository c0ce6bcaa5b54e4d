import Testing
@testable import HeadroomModels

/// The halo term of streaming's predicted compute against the rows each band really reads.
@Suite struct HaloChainTests {
    /// Each layer's rows as the streamed code computes them: the last map cut into `bands`
    /// (``Range/bands(_:)``), each band's rows walked back through every window and clipped
    /// to its map. Multiply-adds per row are the same in every row of a map.
    func bruteForce(_ chain: HaloChain, bands: Int) -> Double {
        var total = 0.0
        for band in (0..<chain.layers.last!.rows).bands(bands) {
            var rows = band
            for (index, layer) in chain.layers.enumerated().reversed() {
                total += (layer.count + layer.side) * Double(rows.count) / Double(layer.rows)
                guard index > 0 else { break }
                let read = layer.window.inputRows(for: rows)
                rows = max(0, read.lowerBound)..<min(chain.layers[index - 1].rows, read.upperBound)
            }
        }
        return total
    }

    /// Two 3×3 convolutions on 12 rows in 3 bands: the first computes 16 rows (5 + 6 + 5).
    @Test func twoConvolutionsComputeTheirHalos() {
        let window = RowWindow(kernel: 3, stride: 1, padding: 1)
        let chain = HaloChain(layers: [.init(count: 12, rows: 12, window: window), .init(count: 12, rows: 12, window: window)])
        #expect(chain.compute(bands: 1) == 24)
        #expect(chain.compute(bands: 3) == 12 + 16)
        #expect(bruteForce(chain, bands: 3) == 12 + 16)
    }

    /// resnet18's streamed part through layer2 (the stem, its max-pool, layer1's and layer2's
    /// main paths) at 1024 px: within 3 % of the rows the bands read, from 2 to 64 bands (the
    /// formula leaves out only the edge bands' clipping and uneven band heights).
    @Test(arguments: [2, 4, 8, 16, 64])
    func resnetChainsMatchTheBandsRows(bands: Int) throws {
        let model = try ResNet(.resnet18)
        var size = 1024
        var layers: [HaloChain.Layer] = []
        let stem = model.conv1.multiplyAdds(inputSize: size)
        size = stem.outputSize
        layers.append(.init(count: stem.count, rows: size, window: model.conv1.rowWindow))
        size = model.maxpool.rowWindow.outputHeight(inputHeight: size)
        layers.append(.init(count: 0, rows: size, window: model.maxpool.rowWindow))
        for stage in model.stages.prefix(2) {
            for case let block as any ResidualBlock in stage.layers {
                for conv in block.mainPath {
                    let (count, output) = conv.multiplyAdds(inputSize: size)
                    size = output
                    layers.append(.init(count: count, rows: size, window: conv.rowWindow))
                }
            }
        }
        let chain = HaloChain(layers: layers)
        let predicted = chain.compute(bands: bands)
        let counted = bruteForce(chain, bands: bands)
        #expect(abs(predicted - counted) / counted < 0.03, "predicted \(predicted), counted \(counted)")
        // And the halos are not nothing: more bands, more compute.
        #expect(chain.compute(bands: bands) > chain.compute(bands: 1))
    }
}
