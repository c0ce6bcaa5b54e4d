import CImageCodecs
public import Torch

extension ImageDecoder {
    /// Decodes an image held in memory straight into a new uint8 tensor, with no intermediate buffer:
    /// shape [1, 3, height, width], channels-last in memory (the decoder's HWC bytes), which is
    /// libtorch's fast layout for antialiased uint8 resizing. Throws `ImageDecodeError`, or
    /// `TorchError` when the tensor cannot be allocated (out of memory is the caller's to handle).
    public func decodeTensor(_ bytes: [UInt8], source: String, minimumSize: MinimumSize = .fullResolution) throws -> Tensor {
        try decodeTensor(bytes, source: source, minimumSize: minimumSize) { size in
            CropBox(top: 0, left: 0, height: size.height, width: size.width)
        }
    }

    /// Decodes only a region of the image: `region` gets the size the image decodes to (after
    /// DCT scaling and orientation) and returns the box to keep, which must lie inside it. The
    /// pixels equal the same box of the whole decoded image; a JPEG skips the rows above and
    /// below the box and the columns beside it, which is most of the work for a small crop.
    public func decodeTensor(
        _ bytes: [UInt8], source: String, minimumSize: MinimumSize, region: (ImageSize) -> CropBox
    ) throws -> Tensor {
        try bytes.withUnsafeBufferPointer { data in
            let data = Self.nonNull(data)
            var plan = try plan(data, source: source, minimumSize: minimumSize)
            let decoded = ImageSize(width: Int(plan.width), height: Int(plan.height))
            let box = region(decoded)
            precondition(box.isInside(decoded), "the region \(box) is not inside the \(decoded) image")
            guard decodesRegionsAlone || box.size == decoded else {
                let whole = try decodeTensor(bytes, source: source, minimumSize: minimumSize)
                return try whole.slice(dim: 2, box.top..<(box.top + box.height)).slice(dim: 3, box.left..<(box.left + box.width))
            }
            let pixels = try Tensor.empty([1, box.height, box.width, DecodedImage.channelCount], dtype: .uint8)
            var failure: ImageDecodeError?
            try pixels.withUnsafeMutableBytes { raw in
                var window = himg_region(left: Int32(box.left), top: Int32(box.top), width: Int32(box.width), height: Int32(box.height))
                let destination = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
                let status = box.size == decoded
                    ? himg_decode(data.baseAddress!, data.count, &plan, destination, raw.count)
                    : himg_decode_region(data.baseAddress!, data.count, &plan, &window, destination, raw.count)
                do throws(ImageDecodeError) { try check(status, source: source) } catch { failure = error }
            }
            if let failure { throw failure }
            return try pixels.permuted([0, 3, 1, 2])
        }
    }
}
