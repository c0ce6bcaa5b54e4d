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

    /// What planning needs of the image file at `path`, from its header: its size as shown
    /// and what decoding it at `minimumSize` holds, the file included. Only the first
    /// `headerBytes` are read where the header says all of it before the pixel data (JPEG,
    /// PNG, TIFF, BMP: where it does not fit them, their codec fails and the whole file is
    /// read); a WebP is read whole, since its EXIF orientation may come last. So a set of
    /// 20 MB JPEGs is planned from a megabyte of each, and so is a TIFF whose directory comes
    /// first (as PIL and cloud-optimised GeoTIFFs write it; libtiff writes it last).
    public func headerFacts(atPath path: String, minimumSize: MinimumSize, headerBytes: Int = 1 << 20)
        throws(ImageDecodeError) -> HeaderFacts
    {
        var bytes: [UInt8]?
        if case let .success((start, fileSize)) = readFilePrefix(atPath: path, maxBytes: headerBytes) {
            if start.count < fileSize {
                if let facts = try? headerFacts(of: start, fileSize: fileSize, source: path, minimumSize: minimumSize),
                    facts.format != HIMG_FORMAT_WEBP
                {
                    return facts
                }
            } else {
                bytes = start  // the whole file already: no second read
            }
        }
        let whole: [UInt8]
        if let bytes { whole = bytes } else { whole = try readFile(atPath: path) }
        var facts = try headerFacts(of: whole, fileSize: whole.count, source: path, minimumSize: minimumSize)
        facts.readWholeFile = true
        return facts
    }

    /// The facts of ``headerFacts(atPath:minimumSize:headerBytes:)``.
    public struct HeaderFacts: Sendable, Equatable {
        /// At full resolution, after the EXIF orientation.
        public var orientedSize: ImageSize
        /// The most host memory decoding holds: the file, the decoded pixels and the codec's
        /// own buffers (a PNG's inflated rows, an orientation's copy).
        public var decodingBytes: Int
        /// Whether the whole file was read (its header did not come first, or it was short).
        public var readWholeFile = false
        var format: himg_format
    }

    private func headerFacts(of bytes: [UInt8], fileSize: Int, source: String, minimumSize: MinimumSize)
        throws(ImageDecodeError) -> HeaderFacts
    {
        let full = try headerPlan(of: bytes, source: source, minimumSize: .fullResolution, fileSize: fileSize)
        let scaled = try headerPlan(of: bytes, source: source, minimumSize: minimumSize, fileSize: fileSize)
        return HeaderFacts(
            orientedSize: ImageSize(width: Int(full.width), height: Int(full.height)),
            decodingBytes: fileSize + Int(scaled.width) * Int(scaled.height) * DecodedImage.channelCount + Int(scaled.working_bytes),
            format: full.format)
    }

    private func headerPlan(of bytes: [UInt8], source: String, minimumSize: MinimumSize, fileSize: Int? = nil)
        throws(ImageDecodeError) -> himg_plan
    {
        try bytes.withUnsafeBufferPointer { (data) throws(ImageDecodeError) -> himg_plan in
            try self.plan(Self.nonNull(data), source: source, minimumSize: minimumSize, fileSize: fileSize)
        }
    }
}
