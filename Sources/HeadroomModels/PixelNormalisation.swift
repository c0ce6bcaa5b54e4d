public import Torch

/// How loaded pixels (uint8 photos or float32 samples) become the network's input:
/// x · scale + shift per channel, in the type and on the device of `scale`. Streaming applies it to each band's rows as it reads them,
/// so a float copy of the whole image (12 bytes a pixel, 0.8 GB at 8192 × 8192) never exists.
public struct PixelNormalisation {
    /// [1, C, 1, 1]: 1 / std and −mean / std.
    let scale: Tensor
    let shift: Tensor

    /// ImageNet's channel statistics (torchvision's), which RGB inputs are normalised with.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// `mean` and `std` in [0, 1] units, for uint8 pixels (torchvision's convention).
    public init(mean: [Float], std: [Float], device: Device, dtype: DType) throws(TorchError) {
        try self.init(
            InputNormalisation(mean: mean.map { Double($0) * 255 }, std: std.map { Double($0) * 255 }, source: .given),
            device: device, dtype: dtype)
    }

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
