import Testing
import TestSupport
import Torch
import TorchNN
@testable import HeadroomModels
@testable import HeadroomExecution

/// The streamed network against the plain one, in float64: the same logits, gradients and
/// BatchNorm running statistics, whichever stage streaming stops at.
@Suite(.serialized) struct StreamingTests {
    /// Logits, every parameter's gradient and every buffer after one forward and backward of
    /// a fresh, seeded resnet18 on a non-square batch: 97 rows make maps of 49, 25, 25, 13, 7
    /// and 4 rows, which three bands cut unevenly, so halos cross the max-pool and every
    /// strided convolution.
    ///
    /// With `fromPixels`, the input is uint8 pixels: normalised whole for the plain network,
    /// band by band where the start of the network runs in bands.
    func run(
        streaming: ResNet.Streaming?, recomputing segments: Set<ResNet.Segment> = [], training: Bool = true, fromPixels: Bool = false
    ) throws -> [[Double]] {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 8))
        try model.move(dtype: .float64)
        if !training { model.eval() }
        let logits: Tensor
        if fromPixels {
            let pixels = try (Tensor.rand([2, 3, 97, 75], generator: Generator(seed: 9)) * 255).to(dtype: .uint8)
            let normalisation = try PixelNormalisation(
                .imageNet, device: .cpu, dtype: .float64)
            logits = try model.forward(pixels, recomputing: segments, streaming: streaming, normalising: normalisation)
        } else {
            let x = try Tensor.randn([2, 3, 97, 75], dtype: .float64, generator: Generator(seed: 9))
            logits = try model.forward(x, recomputing: segments, streaming: streaming)
        }
        var watched = [logits]
        if training {
            try (logits * logits).sum().backward()
            watched += try model.namedParameters().map { try #require($0.tensor.grad) }
        }
        watched += try model.namedBuffers().map { try $0.tensor.to(dtype: .float64) }
        return try watched.map { try $0.array(of: Double.self) }
    }

    @Test("streaming through each stage equals the plain network", arguments: ResNet.Segment.allCases)
    func streamingEqualsThePlainNetwork(through: ResNet.Segment) throws {
        let plain = try run(streaming: nil)
        let streamed = try run(streaming: ResNet.Streaming(through: through, bands: 3))
        expectClose(streamed, plain, within: .exactInFloat64)
    }

    /// With each stage's output held whole, every stage streams from the one before: the same
    /// logits, gradients and running statistics, through each stage.
    @Test("holding stage outputs equals the plain network", arguments: [ResNet.Segment.layer2])
    func holdingStageOutputsEqualsThePlainNetwork(through: ResNet.Segment) throws {
        let plain = try run(streaming: nil)
        expectClose(try run(streaming: ResNet.Streaming(through: through, bands: 3, holdsStages: true)), plain, within: .exactInFloat64)
        expectClose(try run(streaming: ResNet.Streaming(through: through, bands: 3, holdsStages: true), fromPixels: true),
                    try run(streaming: nil, fromPixels: true), within: .exactInFloat64)
    }

    /// Holding only the deeper stages' inputs: what comes before streams from the image as one
    /// part, then each held stage from the last's output.
    @Test("holding the deeper stages' inputs equals the plain network", arguments: [ResNet.Segment.layer2, .layer3])
    func holdingTheDeeperStagesInputsEqualsThePlainNetwork(heldFrom: ResNet.Segment) throws {
        let streaming = ResNet.Streaming(through: .layer3, bands: 3, heldFrom: heldFrom)
        #expect(streaming.holdsInput(of: heldFrom) && !streaming.holdsInput(of: .layer1) && !streaming.holdsBlocks)
        expectClose(try run(streaming: streaming), try run(streaming: nil), within: .exactInFloat64)
    }

    /// With every block's output held, each block streams from the one before (a downsampling
    /// block's shortcut included).
    @Test("holding block outputs equals the plain network", arguments: [ResNet.Segment.layer2])
    func holdingBlockOutputsEqualsThePlainNetwork(through: ResNet.Segment) throws {
        expectClose(try run(streaming: ResNet.Streaming(through: through, bands: 3, holdsBlocks: true)), try run(streaming: nil),
                    within: .exactInFloat64)
    }

    /// More bands than some maps have rows: each map is cut into as many as it has.
    /// The forward passes' max-pool (strided slices) against libtorch's, bit for bit: ties
    /// (values from a few levels), −∞ and NaN included, odd and even sizes, both kernels' shapes.
    @Test(arguments: [(3, 2, 1, 13, 11), (3, 2, 1, 14, 10), (2, 2, 0, 9, 7), (3, 1, 1, 6, 5)])
    func theSlicedMaxPoolIsLibtorchs(kernel: Int, stride: Int, padding: Int, height: Int, width: Int) throws {
        let pool = MaxPool2d(kernelSize: kernel, stride: stride, padding: padding)
        for dtype in [DType.float64, .float32] {
            var x = try (Tensor.rand([2, 3, height, width], dtype: .float64, generator: Generator(seed: 4)) * 4).floor().to(dtype: dtype)
            try x.select(dim: 1, index: 1).select(dim: 1, index: 2).fillInPlace(.nan)
            try x.select(dim: 0, index: 0).select(dim: 0, index: 2).fillInPlace(-.infinity)
            x = try x.contiguous()
            let sliced = try pool.maximumOfSlices(x)
            let reference = try x.maxPool2d(kernelSize: (kernel, kernel), stride: (stride, stride), padding: (0, padding))
            #expect(sliced.shape == reference.shape)
            let (mine, theirs) = (try sliced.to(dtype: .float64).array(of: Double.self), try reference.to(dtype: .float64).array(of: Double.self))
            #expect(mine.contains { $0.isNaN } && mine.contains { $0 == -.infinity })
            #expect(zip(mine, theirs).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(dtype)")
        }
    }

    @Test func moreBandsThanRows() throws {
        let plain = try run(streaming: nil)
        let streamed = try run(streaming: ResNet.Streaming(through: .layer3, bands: 11))
        expectClose(streamed, plain, within: .exactInFloat64)
    }

    /// From uint8 pixels, each band normalising the rows it reads (the float image is never
    /// whole) equals normalising the whole image first, streamed and in the banded stem.
    @Test func pixelsNormalisedBandByBand() throws {
        let plain = try run(streaming: nil, fromPixels: true)
        expectClose(try run(streaming: ResNet.Streaming(through: .layer2, bands: 3), fromPixels: true), plain, within: .exactInFloat64)
        let model = try ResNet(.resnet18, classCount: 3)
        #expect(model.usesBandedStem(inputRows: 97, segments: Set(ResNet.Segment.allCases)))
        expectClose(try run(streaming: nil, recomputing: Set(ResNet.Segment.allCases), fromPixels: true), plain, within: .exactInFloat64)
        // The same pixels as floats, unnormalised: a different network input, so a test that
        // could not tell normalised from raw rows would fail here.
        let raw = try run(streaming: ResNet.Streaming(through: .layer2, bands: 3))
        #expect(try #require(raw.first).first != plain.first?.first)
    }

    /// Bands of one height hold the same whatever the image's height: a taller image adds
    /// only what is held whole (the uint8 image, the streamed output and its gradient) and
    /// what the whole-map tail after it adds. A band that read more rows than its receptive
    /// field needs (rows counted in the wrong map) would grow with the rows above it: with
    /// that bug this adds 41.7 MB against a 12.2 MB bound here, 47.0 MB against 19.0 MB
    /// under SSE4.1 kernels.
    @Test func aTallerImageAddsOnlyWhatIsHeldWhole() throws {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 8))
        let normalisation = try PixelNormalisation(
            .imageNet, device: .cpu, dtype: .float32)
        func peak(of step: () throws -> Void) throws -> Int {
            try Device.cpu.resetPeakMemory()
            let before = try Device.cpu.memoryStatistics().liveBytes
            try step()
            for parameter in model.namedParameters() { try parameter.tensor.setGrad(nil) }
            return try Device.cpu.memoryStatistics().peakBytes - before
        }
        func streamed(rows: Int) throws -> Int {
            let pixels = try (Tensor.rand([1, 3, rows, 128], generator: Generator(seed: 9)) * 255).to(dtype: .uint8)
            let streaming = ResNet.Streaming(through: .layer2, rowsPerBand: 64, minimumBands: 1, inputRows: rows)
            return try peak { try model.forward(pixels, recomputing: [], streaming: streaming, normalising: normalisation).sum().backward() }
        }
        // layer3, layer4 and the head run whole on layer2's output: what they hold is the
        // kernels' choice (under SSE4.1 kernels their growth here doubles, 6.6 MB to 13.4 MB),
        // not streaming's, so it is measured under the same kernels and allowed for.
        func tail(rows: Int) throws -> Int {
            let features = try Tensor.rand([1, 128, rows / 8, 16], generator: Generator(seed: 10)).requiringGradient()
            return try peak {
                var x = features
                for stage in model.stages[2...] { x = try stage(x) }
                try model.fc(x.adaptiveAvgPool2d(outputSize: (1, 1)).flattened(from: 1)).sum().backward()
            }
        }
        let added = try streamed(rows: 2048) - streamed(rows: 512)
        let addedByTail = try tail(rows: 2048) - tail(rows: 512)
        // Held whole per input pixel: 3 bytes of image, layer2's output and its gradient (2 × 128 channels × 4 bytes / 64).
        let heldWhole = (3 + 16) * 128 * (2048 - 512)
        #expect(added < addedByTail + heldWhole + heldWhole / 2, "the streamed step added \(added) bytes, the whole-map tail \(addedByTail)")
    }

    /// In evaluation BatchNorm uses its running statistics: no statistics passes, same logits.
    @Test func evaluationUsesTheRunningStatistics() throws {
        let plain = try run(streaming: nil, training: false)
        let streamed = try run(streaming: ResNet.Streaming(through: .layer4, bands: 3), training: false)
        expectClose(streamed, plain, within: .exactInFloat64)
    }
}
