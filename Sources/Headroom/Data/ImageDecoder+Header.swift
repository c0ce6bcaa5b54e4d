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
        var options = himg_options()
        options.max_pixels = pixelLimit.map { UInt64(clamping: max($0, 1)) } ?? 0
        options.ignore_orientation = appliesOrientation ? 0 : 1
        var plan = himg_plan()
        try bytes.withUnsafeBufferPointer { (data) throws(ImageDecodeError) in
            let base = data.baseAddress ?? UnsafePointer(bitPattern: 1)!  // an empty file still needs a non-null pointer
            try check(himg_plan_decode(base, data.count, &options, &plan), source: source)
        }
        return ImageSize(width: Int(plan.width), height: Int(plan.height))
    }
}
