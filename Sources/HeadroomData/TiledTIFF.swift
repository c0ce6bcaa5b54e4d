import CImageCodecs

/// A tiled TIFF's pages read a region at a time, from only the tiles the region touches and of a
/// JPEG tile only the part it needs (CImageCodecs' tiled_tiff.c): the levels of a generic pyramidal
/// TIFF or an Aperio slide, read without OpenSlide's ARGB tiles and compositing. Safe to read from
/// several threads at once.
final class TiledTIFF: @unchecked Sendable {
    private let handle: OpaquePointer

    /// nil when the file cannot be opened or is not a TIFF.
    init?(path: String) {
        guard let handle = himg_tiled_tiff_open(path) else { return nil }
        self.handle = handle
    }

    deinit { himg_tiled_tiff_close(handle) }

    /// The page of this size, when it is one the reader decodes (8-bit RGB; JPEG or a lossless codec).
    func page(size: ImageSize) -> Int? {
        let page = himg_tiled_tiff_find_page(handle, Int64(size.width), Int64(size.height))
        return page >= 0 ? Int(page) : nil
    }

    /// Reads `width`×`height` pixels at (x, y) of `page` into `rgb` (HWC); pixels outside the page
    /// are `background`. Throws the codec's status and message.
    func read(page: Int, x: Int, y: Int, width: Int, height: Int, background: [UInt8], into rgb: UnsafeMutablePointer<UInt8>) throws(TiledTIFFError) {
        let status = himg_tiled_tiff_read(handle, Int32(page), Int64(x), Int64(y), Int64(width), Int64(height), background, rgb)
        guard status == HIMG_OK else {
            throw TiledTIFFError(truncated: status == HIMG_ERROR_TRUNCATED, message: String(cString: himg_last_error()))
        }
    }
}

struct TiledTIFFError: Error {
    var truncated: Bool
    var message: String
}
