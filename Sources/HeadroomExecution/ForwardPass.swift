public import HeadroomModels
public import Torch

/// A network's forward pass as training, validation and inference all run it: uint8 pixels
/// normalised on the device, in the memory format and under the autocast of the precision,
/// with the segments the memory plan recomputes and the start of the network streamed in
/// bands where it asks. Holds no optimiser: inference is this and nothing more.
public final class ForwardPass {
    public let model: ResNet
    public let device: Device
    public let precision: Precision
    public let memoryFormat: MemoryFormat
    /// Loaded pixels into normalised floats in one pass.
    private let normalisation: PixelNormalisation
    /// What `normalisation` applies, as saved with the run.
    public let inputNormalisation: InputNormalisation

    /// Moves `model`'s weights to the precision's type (what runs is the precision's: weights,
    /// gradients and optimiser state alike); `normalisation` is per band, in the loader's units.
    public init(
        model: ResNet, device: Device, precision: Precision, memoryFormat: MemoryFormat = .contiguous,
        normalisation: InputNormalisation = .imageNet
    ) throws(TorchError) {
        try model.move(dtype: precision.parameterType)
        self.model = model
        self.device = device
        self.precision = precision
        self.memoryFormat = memoryFormat
        self.normalisation = try PixelNormalisation(normalisation, device: device, dtype: precision.parameterType)
        inputNormalisation = normalisation
    }

    /// uint8 NCHW images (any device) → normalised floats (the weights' type) on the device.
    public func prepare(_ images: Tensor) throws(TorchError) -> Tensor {
        // The transfer moves uint8, a quarter of the float bytes.
        let normalised = try normalisation(images.to(device: device, nonBlocking: true))
        return memoryFormat == .channelsLast ? try normalised.contiguous(.channelsLast) : normalised
    }

    /// Logits for uint8 images. Where the start of the network runs in bands (streaming, or
    /// the banded stem), each band normalises the rows it reads, so the whole image is only
    /// ever held as uint8.
    public func logits(
        images: Tensor, recomputing segments: Set<ResNet.Segment> = [], streaming: ResNet.Streaming? = nil
    ) throws(TorchError) -> Tensor {
        guard memoryFormat == .contiguous,
            streaming != nil || model.usesBandedStem(inputRows: images.shape[2], segments: segments)
        else { return try forward(prepare(images), recomputing: segments, streaming: streaming) }
        let pixels = try images.to(device: device, nonBlocking: true)
        return try autocasting { () throws(TorchError) in
            try model.forward(pixels, recomputing: segments, streaming: streaming, normalising: normalisation)
        }
    }

    /// Logits for prepared images, under autocast when the precision asks for it, with the
    /// activations of `recomputing` recomputed in backward and the start of the network
    /// `streaming` in bands (the memory plan's choices).
    public func forward(
        _ inputs: Tensor, recomputing segments: Set<ResNet.Segment> = [], streaming: ResNet.Streaming? = nil
    ) throws(TorchError) -> Tensor {
        try autocasting { () throws(TorchError) in try model.forward(inputs, recomputing: segments, streaming: streaming) }
    }

    /// `body` under autocast when the precision asks for it.
    private func autocasting(_ body: () throws(TorchError) -> Tensor) throws(TorchError) -> Tensor {
        guard let type = precision.autocastType else { return try body() }
        return try withAutocast(device: device, dtype: type, body)
    }
}
