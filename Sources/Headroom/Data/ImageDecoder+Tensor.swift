import CImageCodecs
public import Torch

extension ImageDecoder {
    /// Decodes an image held in memory straight into a new uint8 tensor, with no intermediate buffer:
    /// shape [1, 3, height, width], channels-last in memory (the decoder's HWC bytes), which is
    /// libtorch's fast layout for antialiased uint8 resizing. Throws `ImageDecodeError`, or
    /// `TorchError` when the tensor cannot be allocated (out of memory is the caller's to handle).
    public func decodeTensor(_ bytes: [UInt8], source: String, minimumSize: MinimumSize = .fullResolution) throws -> Tensor {
        try bytes.withUnsafeBufferPointer { data in
            let data = Self.nonNull(data)
            let plan = try plan(data, source: source, minimumSize: minimumSize)
            let pixels = try Tensor.empty([1, Int(plan.height), Int(plan.width), DecodedImage.channelCount], dtype: .uint8)
            var failure: ImageDecodeError?
            try pixels.withUnsafeMutableBytes { raw in
                do throws(ImageDecodeError) { try decode(data, plan: plan, into: raw, source: source) } catch { failure = error }
            }
            if let failure { throw failure }
            return try pixels.permuted([0, 3, 1, 2])
        }
    }
}
