import CImageCodecs

/// Decodes JPEG, PNG, WebP, TIFF and BMP files into 8-bit RGB, recognising the format by its leading bytes.
///
/// JPEGs are decoded at the smallest DCT scale (1/8, 1/4, 1/2 or 1) that still meets `minimumSize`, which is
/// most of the speed on high-resolution input. The EXIF orientation is applied as PIL's
/// `ImageOps.exif_transpose` does (JPEG, PNG, WebP and TIFF carry it); alpha is dropped and 16-bit
/// samples keep their high byte, as PIL's `convert("RGB")` does. Every format's header is read, and
/// the pixel limit applied, before any pixel memory is allocated.
public struct ImageDecoder: Sendable {
    /// PIL's `Image.MAX_IMAGE_PIXELS`: a guard against decompression bombs.
    public static let defaultPixelLimit = 178_956_970

    /// The most pixels a header may declare (at full resolution); `nil` disables the check.
    public var pixelLimit: Int?
    /// Whether to undo the EXIF orientation tag. torchvision's `pil_loader` does not; PIL's `exif_transpose` does.
    public var appliesOrientation: Bool
    /// What the data set's images become: 8-bit RGB photos, or every band at full precision.
    public var input: InputFormat = .rgb
    /// Whether a region is decoded on its own (a JPEG's other rows and columns skipped) rather
    /// than cut from the whole decoded image; the same pixels either way (bench/ compares them).
    public var decodesRegionsAlone = true

    /// `--max-image-pixels`: a whole count of pixels (178956970 or 1e9), or
    /// `none` for no limit (nil).
    public static func pixelLimit(parsing text: String) -> Int?? {
        if text.lowercased() == "none" { return .some(nil) }
        guard let value = Double(text), value >= 1, value < 9e18, value == value.rounded() else { return nil }
        return .some(Int(value))
    }

    public init(pixelLimit: Int? = ImageDecoder.defaultPixelLimit, appliesOrientation: Bool = true) {
        self.pixelLimit = pixelLimit
        self.appliesOrientation = appliesOrientation
    }

    /// Decodes the image file at `path`.
    public func decode(fileAtPath path: String, minimumSize: MinimumSize = .fullResolution)
        throws(ImageDecodeError) -> DecodedImage
    {
        try decode(readFile(atPath: path), source: path, minimumSize: minimumSize)
    }

    /// Decodes an image held in memory; `source` names it in errors.
    public func decode(_ bytes: [UInt8], source: String, minimumSize: MinimumSize = .fullResolution)
        throws(ImageDecodeError) -> DecodedImage
    {
        try bytes.withUnsafeBufferPointer { (data) throws(ImageDecodeError) -> DecodedImage in
            let data = Self.nonNull(data)
            let plan = try plan(data, source: source, minimumSize: minimumSize)
            let byteCount = Int(plan.width) * Int(plan.height) * DecodedImage.channelCount
            var failure: ImageDecodeError?
            let pixels = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
                do throws(ImageDecodeError) {
                    try decode(data, plan: plan, into: UnsafeMutableRawBufferPointer(buffer), source: source)
                    initialized = byteCount
                } catch {
                    failure = error  // the buffer may be partly written; hand back nothing rather than garbage
                }
            }
            if let failure { throw failure }
            return DecodedImage(width: Int(plan.width), height: Int(plan.height), pixels: pixels)
        }
    }

    /// Reads the header of `data` and plans the decode for `minimumSize`; the pixel limit applies.
    /// `fileSize`: the whole file's, when `data` is only its start.
    func plan(
        _ data: UnsafeBufferPointer<UInt8>, source: String, minimumSize: MinimumSize, fileSize: Int? = nil
    ) throws(ImageDecodeError) -> himg_plan {
        var options = himg_options()
        options.file_size = UInt64(max(0, fileSize ?? 0))
        (options.min_shorter_side, options.min_width, options.min_height) = minimumSize.requirements
        options.max_pixels = pixelLimit.map { UInt64(clamping: max($0, 1)) } ?? 0
        options.ignore_orientation = appliesOrientation ? 0 : 1
        var plan = himg_plan()
        try check(himg_plan_decode(data.baseAddress!, data.count, &options, &plan), source: source)
        return plan
    }

    /// `data`, or an empty buffer at a non-null address: the codec takes no null pointer, even for an empty file.
    static func nonNull(_ data: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        data.baseAddress == nil ? UnsafeBufferPointer(start: UnsafePointer(bitPattern: 1), count: 0) : data
    }

    /// Decodes per `plan` into `destination`, which holds `plan.width * plan.height * 3` bytes.
    func decode(
        _ data: UnsafeBufferPointer<UInt8>, plan: himg_plan, into destination: UnsafeMutableRawBufferPointer, source: String
    ) throws(ImageDecodeError) {
        var plan = plan
        let status = himg_decode(
            data.baseAddress!, data.count, &plan, destination.baseAddress?.assumingMemoryBound(to: UInt8.self),
            destination.count)
        try check(status, source: source)
    }

    /// The one place a codec status becomes a Swift error; reads the message on the failing thread.
    func check(_ status: himg_status, source: String) throws(ImageDecodeError) {
        guard status != HIMG_OK else { return }
        let kind: ImageDecodeError.Kind = switch Int(status) {
        case Int(HIMG_ERROR_UNSUPPORTED_FORMAT): .unsupportedFormat
        case Int(HIMG_ERROR_TRUNCATED): .truncated
        case Int(HIMG_ERROR_TOO_MANY_PIXELS): .tooManyPixels
        case Int(HIMG_ERROR_OUT_OF_MEMORY): .outOfMemory
        default: .corrupt
        }
        throw ImageDecodeError(path: source, kind: kind, detail: String(cString: himg_last_error()))
    }
}
