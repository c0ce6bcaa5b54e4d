public import Torch

/// How loaded pixels (uint8 photos or float32 samples) become the network's input:
/// x · scale + shift per channel, in the type and on the device of `scale`. Streaming applies it to each band's rows as it reads them,
/// so a float copy of the whole image (12 bytes a pixel, 0.8 GB at 8192 × 8192) never exists.
public struct PixelNormalisation {
    /// [1, C, 1, 1]: 1 / std and −mean / std.
    let scale: Tensor
    let shift: Tensor

    public init(_ normalisation: InputNormalisation, device: Device, dtype: DType) throws(TorchError) {
        let channels = [1, normalisation.bands, 1, 1]
        scale = try Tensor(normalisation.std.map { 1 / $0 }, shape: channels).to(device: device, dtype: dtype)
        shift = try Tensor(zip(normalisation.mean, normalisation.std).map { -$0 / $1 }, shape: channels).to(device: device, dtype: dtype)
    }

    /// Normalised floats from NCHW pixels already on the device.
    public func callAsFunction(_ pixels: Tensor) throws(TorchError) -> Tensor {
        try pixels.to(dtype: scale.dtype) * scale + shift
    }
}
