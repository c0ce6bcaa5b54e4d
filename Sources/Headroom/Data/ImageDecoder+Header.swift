import CImageCodecs

extension ImageDecoder {
    /// The file's bytes, with the reason when it cannot be read.
    public func readFile(atPath path: String) throws(ImageDecodeError) -> [UInt8] {
        switch readFileBytes(atPath: path) {
        case let .success(bytes): return bytes
        case let .failure(failure): throw ImageDecodeError(path: path, kind: .unreadable, detail: failure.reason)
        }
    }

    /// The full-resolution size of an encoded image as it will be shown (after the EXIF
    /// orientation), read from its header without decoding the pixels; the pixel limit applies.
    public func orientedSize(of bytes: [UInt8], source: String) throws(ImageDecodeError) -> ImageSize {
        try decodedSize(of: bytes, source: source, minimumSize: .fullResolution)
    }

    /// The size `bytes` decodes to for `minimumSize` (after DCT scaling and orientation), from its header.
    public func decodedSize(of bytes: [UInt8], source: String, minimumSize: MinimumSize) throws(ImageDecodeError) -> ImageSize {
        let plan = try headerPlan(of: bytes, source: source, minimumSize: minimumSize)
        return ImageSize(width: Int(plan.width), height: Int(plan.height))
    }

    /// The most host memory decoding `bytes` for `minimumSize` holds besides the file: the
    /// decoded pixels and the codec's own buffers (a PNG's inflated rows, an orientation's copy).
    public func decodingBytes(of bytes: [UInt8], source: String, minimumSize: MinimumSize) throws(ImageDecodeError) -> Int {
        let plan = try headerPlan(of: bytes, source: source, minimumSize: minimumSize)
        return Int(plan.width) * Int(plan.height) * DecodedImage.channelCount + Int(plan.working_bytes)
    }

    private func headerPlan(of bytes: [UInt8], source: String, minimumSize: MinimumSize) throws(ImageDecodeError) -> himg_plan {
        try bytes.withUnsafeBufferPointer { (data) throws(ImageDecodeError) -> himg_plan in
            try self.plan(Self.nonNull(data), source: source, minimumSize: minimumSize)
        }
    }
}
