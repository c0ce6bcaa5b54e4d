import CImageCodecs

/// Baseline JPEG encoding through TurboJPEG, for generated data (the demo set, tests).
public enum JPEGEncoder {
    /// The JPEG bytes of an RGB image.
    public static func encode(_ image: DecodedImage, quality: Int = 90) throws(ImageDecodeError) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            himg_encode_jpeg(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(quality), &output, &size)
        }
        guard status == HIMG_OK, let output else {
            throw ImageDecodeError(path: "<encoder>", kind: .corrupt, detail: String(cString: himg_last_error()))
        }
        defer { himg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
