import CImageCodecs

/// Encodes RGB images as JPEG (TurboJPEG), PNG (libpng) or WebP (libwebp), for generated data
/// (the demo set, benchmarks, tests).
public enum ImageEncoder {
    public enum Format: Sendable, Hashable {
        /// Baseline JPEG, 4:2:0, at `quality` (1–100).
        case jpeg(quality: Int)
        /// 8-bit RGB PNG; `fast` trades size for speed.
        case png(fast: Bool)
        /// Lossy WebP at `quality` (1–100).
        case webp(quality: Int)
        /// Lossless WebP.
        case webpLossless

        /// The usual file extension, without the dot.
        public var fileExtension: String {
            switch self {
            case .jpeg: "jpg"
            case .png: "png"
            case .webp, .webpLossless: "webp"
            }
        }
    }

    /// The encoded bytes of an RGB image.
    public static func encode(_ image: DecodedImage, as format: Format) throws(ImageDecodeError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let (width, height) = (Int32(image.width), Int32(image.height))
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            switch format {
            case .jpeg(let quality):
                himg_encode_jpeg(pixels.baseAddress, width, height, Int32(clamping: quality), &output, &size)
            case .png(let fast):
                himg_encode_png(pixels.baseAddress, width, height, fast ? 1 : 0, &output, &size)
            case .webp(let quality):
                himg_encode_webp(pixels.baseAddress, width, height, Int32(clamping: quality), 0, &output, &size)
            case .webpLossless:
                himg_encode_webp(pixels.baseAddress, width, height, 0, 1, &output, &size)
            }
        }
        guard status == HIMG_OK, let output else {
            throw ImageDecodeError(path: "<encoder>", kind: .corrupt, detail: String(cString: himg_last_error()))
        }
        defer { himg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
