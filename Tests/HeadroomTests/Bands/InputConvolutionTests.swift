import Testing
import Torch
@testable import HeadroomModels

/// RGB weights for other bands, as timm's `adapt_input_conv` makes them.
@Suite struct InputConvolutionTests {
    func rgbWeight() throws -> Tensor { try Tensor.randn([4, 3, 2, 2], generator: Generator(seed: 3)) }

    @Test func oneBandTakesTheSumOverRGB() throws {
        let rgb = try rgbWeight()
        let grey = try ResNet.adaptInputConvolution(rgb, to: 1)
        #expect(grey.shape == [4, 1, 2, 2])
        let values = try rgb.to(dtype: .float64).array(of: Double.self)  // [o][c][h][w] flattened
        let adapted = try grey.to(dtype: .float64).array(of: Double.self)
        for out in 0..<4 {
            for pixel in 0..<4 {
                let sum = (0..<3).map { values[out * 12 + $0 * 4 + pixel] }.reduce(0, +)
                #expect(abs(adapted[out * 4 + pixel] - sum) < 1e-6)
            }
        }
    }

    /// Band b takes RGB channel b mod 3, scaled by 3/N; a grey image copied into every band then
    /// gives what it gave as RGB.
    @Test func moreBandsRepeatRGBScaledByThreeOverN() throws {
        let rgb = try rgbWeight()
        let five = try ResNet.adaptInputConvolution(rgb, to: 5)
        #expect(five.shape == [4, 5, 2, 2])
        let values = try rgb.to(dtype: .float64).array(of: Double.self)
        let adapted = try five.to(dtype: .float64).array(of: Double.self)
        for out in 0..<4 {
            for band in 0..<5 {
                for pixel in 0..<4 {
                    #expect(abs(adapted[out * 20 + band * 4 + pixel] - values[out * 12 + (band % 3) * 4 + pixel] * 3 / 5) < 1e-6)
                }
            }
        }
    }

    @Test func loadingRGBWeightsIntoAThirteenBandModelSaysSo() throws {
        let rgbModel = try ResNet(.resnet18, classCount: 10, generator: Generator(seed: 1))
        let weights = Dictionary(uniqueKeysWithValues: try rgbModel.stateDict().map { ($0.name, $0.tensor) })
        let model = try ResNet(.resnet18, classCount: 10, inputBands: 13, generator: Generator(seed: 2))
        let load = try model.loadPretrained(weights)
        #expect(load.inputAdapted?.checkpointBands == 3 && load.inputAdapted?.modelBands == 13)
        #expect("\(load)".contains("adapt_input_conv"))
        let expected = try ResNet.adaptInputConvolution(try #require(weights["conv1.weight"]), to: 13)
        let difference = try model.conv1.weight - expected
        #expect(try difference.abs().max().item() == 0)
    }
}
