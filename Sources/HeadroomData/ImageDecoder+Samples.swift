import CDicom
import CImageCodecs
public import Torch

extension ImageDecoder {
    /// Decodes a region of an image at full precision into a float32 tensor [1, bands, height,
    /// width] holding the set's bands (`format`: alpha dropped, `--bands` applied): DICOM as
    /// modality values, TIFF and PNG samples as stored, other formats from their 8-bit RGB (or
    /// grey) pixels. `region` gets the image's size as stored and returns the box to keep. A file
    /// whose bands disagree with the set's is refused, naming the set's example.
    public func decodeSamples(
        _ bytes: [UInt8], source: String, format: InputFormat, region: (ImageSize) -> CropBox
    ) throws -> Tensor {
        let facts = try facts(of: bytes, source: source)
        guard facts.imageBands == format.fileBands else { throw bandMismatch(facts, source: source, format: format) }
        var samples: Tensor
        if facts.dicom != nil {
            samples = try decodeDicom(bytes, source: source, facts: facts)
            let box = region(facts.size)
            samples = try samples.slice(dim: 2, box.top..<(box.top + box.height)).slice(dim: 3, box.left..<(box.left + box.width))
        } else if let decoded = try decodeFullDepth(bytes, source: source, facts: facts, region: region) {
            samples = decoded
        } else {
            // A photo format: its RGB pixels (the grey band of a grey one), as floats.
            var pixels = try decodeTensor(bytes, source: source, minimumSize: .fullResolution, region: region)
            if facts.isGrey { pixels = try pixels.slice(dim: 1, 0..<1) }
            samples = try pixels.to(dtype: .float32)
        }
        if let alpha = facts.alphaBand {
            samples = try samples.indexSelect(dim: 1, indices: Tensor((0..<facts.bands).filter { $0 != alpha }.map(Int64.init)))
        }
        return try format.selectingBands(of: samples)
    }

    /// The refusal of a file whose bands are not the set's.
    func bandMismatch(_ facts: ImageFacts, source: String, format: InputFormat) -> ImageDecodeError {
        let example = format.example.map { " (as \(PathNames.display($0)) has)" } ?? ""
        return ImageDecodeError(
            path: source, kind: .bandMismatch,
            detail: "it has \(facts.imageBands) band\(facts.imageBands == 1 ? "" : "s") where the set's images have \(format.fileBands)\(example)")
    }

    /// The whole first frame of a DICOM file, [1, bands, rows, columns] modality values.
    private func decodeDicom(_ bytes: [UInt8], source: String, facts: ImageFacts) throws -> Tensor {
        if let frames = facts.dicom?.frames, frames > 1 {
            throw ImageDecodeError(
                path: source, kind: .severalFrames,
                detail: "a multi-frame DICOM (\(frames) frames): Headroom reads single-frame images; split it into one file per frame")
        }
        let samples = try Tensor.empty([1, facts.bands, facts.size.height, facts.size.width], dtype: .float32)
        try bytes.withUnsafeBufferPointer { data in
            let data = Self.nonNull(data)
            var failure: ImageDecodeError?
            try samples.withUnsafeMutableBytes { raw in
                let floats = raw.bindMemory(to: Float.self)
                let status = hdcm_decode(data.baseAddress!, data.count, 0, floats.baseAddress, floats.count)
                do throws(ImageDecodeError) { try checkDicom(status, source: source) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        return samples
    }

    /// A TIFF's or PNG's region at full depth, or nil when only the photo path reads it (a YCbCr TIFF).
    private func decodeFullDepth(
        _ bytes: [UInt8], source: String, facts: ImageFacts, region: (ImageSize) -> CropBox
    ) throws -> Tensor? {
        guard facts.format == "TIFF" || facts.format == "PNG" else { return nil }
        return try bytes.withUnsafeBufferPointer { data -> Tensor? in
            let data = Self.nonNull(data)
            var options = himg_options()
            options.max_pixels = pixelLimit.map { UInt64(clamping: max($0, 1)) } ?? 0
            var info = himg_samples_info()
            try check(himg_read_samples_info(data.baseAddress!, data.count, &options, &info), source: source)
            let box = region(facts.size)
            precondition(box.isInside(facts.size), "the region \(box) is not inside the \(facts.size) image")
            let samples = try Tensor.empty([1, Int(info.bands), box.height, box.width], dtype: .float32)
            var status = himg_status(HIMG_OK)
            try samples.withUnsafeMutableBytes { raw in
                let floats = raw.bindMemory(to: Float.self)
                var window = himg_region(left: Int32(box.left), top: Int32(box.top), width: Int32(box.width), height: Int32(box.height))
                status = himg_decode_samples(data.baseAddress!, data.count, &info, &window, floats.baseAddress, floats.count)
            }
            if status == HIMG_ERROR_UNSUPPORTED_FORMAT && info.is_photo != 0 { return nil }
            try check(status, source: source)
            return samples
        }
    }
}

extension InputFormat {
    /// `--bands` applied to [N, fileBands, H, W] pixels.
    func selectingBands(of pixels: Tensor) throws(TorchError) -> Tensor {
        guard let selection else { return pixels }
        return try pixels.indexSelect(dim: 1, indices: Tensor(selection.map(Int64.init)))
    }
}
