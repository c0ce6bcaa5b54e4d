import CDicom
import CImageCodecs

extension ImageDecoder {
    /// The facts of the image file at `path`, from its header (the pixel limit applies).
    public func facts(atPath path: String) throws(ImageDecodeError) -> ImageFacts {
        try facts(of: readFile(atPath: path), source: path)
    }

    /// The facts of an image in memory: DICOM through GDCM, TIFF and PNG through the full-depth
    /// reader, every other format (and a TIFF only the RGB path reads) as an 8-bit photo.
    public func facts(of bytes: [UInt8], source: String) throws(ImageDecodeError) -> ImageFacts {
        try bytes.withUnsafeBufferPointer { (data) throws(ImageDecodeError) -> ImageFacts in
            let data = Self.nonNull(data)
            if hdcm_is_dicom(data.baseAddress!, data.count) != 0 {
                return try dicomInfo(data, source: source).facts
            }
            var options = himg_options()
            options.max_pixels = pixelLimit.map { UInt64(clamping: max($0, 1)) } ?? 0
            var info = himg_samples_info()
            let status = himg_read_samples_info(data.baseAddress!, data.count, &options, &info)
            if status == HIMG_OK, let type = SampleType(codec: info.sample_type) {
                return ImageFacts(
                    format: info.format == HIMG_FORMAT_PNG ? "PNG" : "TIFF",
                    size: ImageSize(width: Int(info.width), height: Int(info.height)), bands: Int(info.bands), sampleType: type,
                    bitsPerSample: Int(info.bits_per_sample), isPhoto: info.is_photo != 0, isGrey: info.band_kind == HIMG_BANDS_GREY,
                    alphaBand: info.alpha_band >= 0 ? Int(info.alpha_band) : nil)
            }
            // Not a file the full-depth reader takes: the RGB path's header says what it is, or why not.
            let plan = try plan(data, source: source, minimumSize: .fullResolution)
            if status != HIMG_ERROR_UNSUPPORTED_FORMAT && (plan.format == HIMG_FORMAT_PNG || plan.format == HIMG_FORMAT_TIFF) {
                try check(status, source: source)  // a TIFF or PNG the full-depth reader rejects for cause
            }
            let grey = plan.colorspace == HIMG_COLORSPACE_GRAY
            return ImageFacts(
                format: Self.formatName(plan.format), size: ImageSize(width: Int(plan.source_width), height: Int(plan.source_height)),
                bands: grey ? 1 : 3, sampleType: .uint8, bitsPerSample: 8, isPhoto: true, isGrey: grey)
        }
    }

    static func formatName(_ format: himg_format) -> String {
        switch Int(format) {
        case Int(HIMG_FORMAT_JPEG): "JPEG"
        case Int(HIMG_FORMAT_PNG): "PNG"
        case Int(HIMG_FORMAT_WEBP): "WebP"
        case Int(HIMG_FORMAT_TIFF): "TIFF"
        case Int(HIMG_FORMAT_BMP): "BMP"
        default: "unknown"
        }
    }

    /// A DICOM header, read through GDCM.
    func dicomInfo(_ data: UnsafeBufferPointer<UInt8>, source: String) throws(ImageDecodeError) -> hdcm_info {
        var info = hdcm_info()
        let limit = pixelLimit.map { UInt64(clamping: max($0, 1)) } ?? 0
        try checkDicom(hdcm_read_info(data.baseAddress!, data.count, limit, &info), source: source)
        return info
    }

    /// A GDCM status as a Swift error (its codes are the image codecs').
    func checkDicom(_ status: hdcm_status, source: String) throws(ImageDecodeError) {
        guard status != HDCM_OK else { return }
        let kind: ImageDecodeError.Kind = switch Int(status) {
        case Int(HDCM_ERROR_UNSUPPORTED): .unsupportedFormat
        case Int(HDCM_ERROR_TRUNCATED): .truncated
        case Int(HDCM_ERROR_TOO_MANY_PIXELS): .tooManyPixels
        case Int(HDCM_ERROR_OUT_OF_MEMORY): .outOfMemory
        default: .corrupt
        }
        throw ImageDecodeError(path: source, kind: kind, detail: "DICOM: " + String(cString: hdcm_last_error()))
    }
}

extension hdcm_info {
    /// The header's facts, as every format reports them.
    var facts: ImageFacts {
        let photometric = Self.text(photometric)
        let dicom = DicomFacts(
            photometric: photometric, transferSyntax: Self.text(transfer_syntax), transferSyntaxName: Self.text(transfer_syntax_name),
            modality: Self.text(modality), frames: Int(frames), bitsStored: Int(bits_stored), rescaleSlope: rescale_slope,
            rescaleIntercept: rescale_intercept, valueRange: min(value_min, value_max)...max(value_min, value_max))
        return ImageFacts(
            format: "DICOM", size: ImageSize(width: Int(width), height: Int(height)), bands: Int(bands),
            sampleType: SampleType(dicomBitsAllocated: Int(bits_allocated), signed: pixel_representation != 0),
            bitsPerSample: Int(bits_stored), isPhoto: false, isGrey: bands == 1, dicom: dicom)
    }

    /// A NUL-terminated C array field as a string.
    private static func text<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
