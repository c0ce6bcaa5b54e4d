import COpenSlide
import Foundation
public import Torch

/// A whole-slide image (a scanner's .svs, .ndpi, .mrxs, .scn or a generic pyramidal tiled TIFF)
/// read through OpenSlide: its level pyramid, its resolution when the file says it, and any
/// region of any level, read from only the tiles the region touches.
///
/// A generic TIFF's or an Aperio slide's levels in JPEG or a lossless codec are read by Headroom's
/// own tile reader (`TiledTIFF`) wherever OpenSlide would copy the pixels unresampled (the region
/// on the level's pixel grid): the same pixels, without OpenSlide's ARGB tiles and compositing.
/// Everything else (other vendors, JPEG 2000, positions between a level's pixels) is OpenSlide's.
///
/// Regions follow OpenSlide's conventions: the location in level-0 pixels, the size in the
/// level's pixels. Pixels OpenSlide leaves transparent (outside the scanned area) take the
/// slide's background colour (white unless the file names one). OpenSlide handles are safe to
/// read from several threads at once.
public final class WholeSlide: @unchecked Sendable {
    /// One level of the pyramid: its size and how many level-0 pixels one of its pixels spans.
    public struct Level: Sendable, Hashable, Codable {
        public var size: ImageSize
        public var downsample: Double
    }

    public let path: String
    public let levels: [Level]
    /// OpenSlide's name for the format: aperio, hamamatsu, mirax, leica, generic-tiff, ….
    public let vendor: String
    /// Microns per level-0 pixel (x, y), when the file records it.
    public let micronsPerPixel: (x: Double, y: Double)?
    /// What fills the parts of a region outside the scanned area.
    public let background: [UInt8]
    private let handle: OpaquePointer
    /// Headroom's reader of the file's tiles, and the page of each level it reads (nil: OpenSlide's).
    private let tiles: TiledTIFF?
    private let tilePages: [Int?]

    /// Who decodes regions: `.automatic` reads what `TiledTIFF` can itself, `.openSlide` all through OpenSlide.
    public enum Decoder: Sendable { case automatic, openSlide }

    /// The vendors whose levels are plain tiled pages of a TIFF, as `TiledTIFF` reads them.
    static let tiledTIFFVendors: Set<String> = ["generic-tiff", "aperio"]

    /// The extensions of the vendor formats OpenSlide reads (generic pyramidal TIFF is told by its content).
    public static let extensions = ["svs", "ndpi", "mrxs", "scn", "vms", "vmu", "bif", "svslide"]

    /// Opens the slide at `path`; a file OpenSlide cannot read as a slide, or a missing
    /// OpenSlide, is an `ImageDecodeError` that says which.
    public init(path: String, decoder: Decoder = .automatic) throws(ImageDecodeError) {
        self.path = path
        // A missing or unreadable file is told apart below, from the operating system's reason.
        guard FileSystem.isDirectory(path) != true else {
            throw ImageDecodeError(path: path, kind: .unreadable, detail: "a folder, not a slide file")
        }
        if let problem = hsl_load() {
            throw ImageDecodeError(path: path, kind: .needsOpenSlide, detail: "run `make setup`, or set HEADROOM_OPENSLIDE to a libopenslide.so.1; tried:" + String(cString: problem))
        }
        var error = [CChar](repeating: 0, count: 4096)
        let vendor = hsl_detect_vendor(path).map { String(cString: $0) }
        guard let handle = hsl_open(path, &error, error.count) else {
            let detail = Self.text(error)
            let missing = access(path, R_OK) != 0
            throw ImageDecodeError(
                path: path, kind: missing ? .unreadable : (vendor == nil ? .unsupportedFormat : .corrupt),
                detail: missing ? String(cString: strerror(errno)) : detail)
        }
        self.handle = handle
        self.vendor = vendor ?? "unknown"
        let count = Int(hsl_level_count(handle))
        levels = (0..<max(0, count)).map { index in
            var width: Int64 = 0
            var height: Int64 = 0
            hsl_level_dimensions(handle, Int32(index), &width, &height)
            return Level(size: ImageSize(width: Int(width), height: Int(height)), downsample: hsl_level_downsample(handle, Int32(index)))
        }
        func number(_ name: String) -> Double? { hsl_property(handle, name).flatMap { Double(String(cString: $0)) } }
        if let x = number("openslide.mpp-x"), let y = number("openslide.mpp-y"), x > 0, y > 0 {
            micronsPerPixel = (x, y)
        } else {
            micronsPerPixel = nil
        }
        background = hsl_property(handle, "openslide.background-color").flatMap { Self.colour(hex: String(cString: $0)) } ?? [255, 255, 255]
        if let failure = hsl_error(handle) {
            let detail = String(cString: failure)
            hsl_close(handle)
            throw ImageDecodeError(path: path, kind: .corrupt, detail: detail)
        }
        guard count > 0, levels.allSatisfy({ $0.size.width > 0 && $0.size.height > 0 && $0.downsample >= 1 }) else {
            hsl_close(handle)
            throw ImageDecodeError(path: path, kind: .corrupt, detail: "OpenSlide reports no usable level")
        }
        tiles = decoder == .automatic && Self.tiledTIFFVendors.contains(self.vendor) ? TiledTIFF(path: path) : nil
        // A level whose downsample is not whole (a scanner's 16.088) puts almost every level-0
        // position between its pixels, where OpenSlide resamples: that level stays OpenSlide's.
        tilePages = levels.map { [tiles] level in level.downsample == level.downsample.rounded() ? tiles?.page(size: level.size) : nil }
    }

    deinit { hsl_close(handle) }

    /// Every property the file and OpenSlide record, by name.
    public var properties: [String: String] {
        var all: [String: String] = [:]
        guard var names = hsl_property_names(handle) else { return all }
        while let name = names.pointee {
            if let value = hsl_property(handle, name) { all[String(cString: name)] = String(cString: value) }
            names += 1
        }
        return all
    }

    /// Whether a read failed: OpenSlide then fails every later read of this handle, so it is reopened.
    public var isBroken: Bool { hsl_error(handle) != nil }

    /// The coarsest level whose downsample is at most `downsample`, within 1%: scanners' levels
    /// are a few pixels off exact powers (4.0002, 16.088), and reading a level 4× finer for a
    /// 0.02% difference would cost 16× the pixels. (OpenSlide's own choice has no tolerance.)
    public func bestLevel(forDownsample downsample: Double) -> Int {
        levels.lastIndex { $0.downsample <= downsample * 1.01 } ?? 0
    }

    /// [1, 3, height, width] uint8 RGB of the region at `level` (location in level-0 pixels,
    /// size in the level's), channels-last in memory as the photo decoders hand it over.
    public func region(level: Int, x: Int, y: Int, width: Int, height: Int) throws -> Tensor {
        guard levels.indices.contains(level) else {
            throw ImageDecodeError(
                path: path, kind: .corrupt, detail: "it has \(levels.count) level\(levels.count == 1 ? "" : "s") (0–\(levels.count - 1)); level \(level) was asked for")
        }
        let pixels = try Tensor.empty([1, height, width, 3], dtype: .uint8)
        if let tiles, let page = tilePages[level], let left = onLevelGrid(x, level: level), let top = onLevelGrid(y, level: level) {
            var failure: TiledTIFFError?
            try pixels.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
                do throws(TiledTIFFError) {
                    try tiles.read(page: page, x: left, y: top, width: width, height: height, background: background, into: base)
                } catch { failure = error }
            }
            if let failure { throw ImageDecodeError(path: path, kind: failure.truncated ? .truncated : .corrupt, detail: "level \(level): \(failure.message)") }
            return try pixels.permuted([0, 3, 1, 2])
        }
        var failure: String?
        var error = [CChar](repeating: 0, count: 4096)
        try pixels.withUnsafeMutableBytes { raw in
            let status = hsl_read_region(
                handle, Int64(x), Int64(y), Int32(level), Int64(width), Int64(height), background,
                raw.baseAddress?.assumingMemoryBound(to: UInt8.self), &error, error.count)
            if status != 0 { failure = Self.text(error) }
        }
        if let failure { throw ImageDecodeError(path: path, kind: .corrupt, detail: failure) }
        return try pixels.permuted([0, 3, 1, 2])
    }

    /// Whether `level` is read by Headroom's tile reader (at positions on the level's pixel grid).
    public func readsTilesItself(level: Int) -> Bool { tilePages.indices.contains(level) && tilePages[level] != nil }

    /// A level-0 coordinate in the level's pixels when it falls on one (as OpenSlide divides it):
    /// OpenSlide resamples a region placed between a level's pixels, so only these are read directly.
    private func onLevelGrid(_ coordinate: Int, level: Int) -> Int? {
        let scaled = Double(coordinate) / levels[level].downsample
        return scaled == scaled.rounded() && abs(scaled) < 1e15 ? Int(scaled) : nil
    }

    /// OpenSlide's version, or why it cannot be loaded.
    public static var openSlideVersion: Result<String, ImageDecodeError> {
        if let problem = hsl_load() {
            return .failure(ImageDecodeError(path: "OpenSlide", kind: .unreadable, detail: String(cString: problem)))
        }
        return .success(hsl_version().map { String(cString: $0) } ?? "unknown")
    }

    /// Where the loaded OpenSlide library lives (nil until it loads).
    public static var openSlideLibrary: String? {
        _ = openSlideVersion
        return hsl_library_path().map { String(cString: $0) }
    }

    /// OpenSlide's vendor for the file, or nil when it reads no slide there (or is not installed).
    public static func vendor(ofFileAt path: String) -> String? {
        hsl_detect_vendor(path).map { String(cString: $0) }
    }

    /// A C message buffer's text, up to its NUL.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func colour(hex: String) -> [UInt8]? {
        guard hex.count == 6, let value = UInt32(hex, radix: 16) else { return nil }
        return [UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)]
    }
}
