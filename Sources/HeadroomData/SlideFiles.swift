/// Which files are whole slides: a vendor format by its extension (.svs, .ndpi, .mrxs, …), and
/// a TIFF (or a DICOM file, which OpenSlide 4 reads as a whole-slide image) that OpenSlide
/// reads as a pyramid of more than one level. A single-level tiled TIFF stays an image, read
/// by the image decoders, unless a slide option asks for slides.
public enum SlideFiles {
    /// Extensions OpenSlide is asked about (its other formats are told by extension alone).
    static let contentChecked = ["tif", "tiff", "dcm", "dicom"]

    public static func isSlide(_ path: String, slideOptionsGiven: Bool = false) -> Bool {
        if has(path, oneOf: WholeSlide.extensions) { return true }
        guard has(path, oneOf: contentChecked), let vendor = WholeSlide.vendor(ofFileAt: path) else { return false }
        if slideOptionsGiven || vendor != "generic-tiff" { return true }
        // Opened through the shared cache: training reads the slide next.
        return ((try? OpenSlides.shared.open(path))?.slide.levels.count ?? 0) > 1
    }

    /// Whether the name is one a slide may have (a vendor extension, or TIFF or DICOM).
    static func mayBeSlide(_ path: String) -> Bool { has(path, oneOf: WholeSlide.extensions + contentChecked) }

    private static func has(_ path: String, oneOf extensions: [String]) -> Bool {
        let name = path.lowercased()
        return extensions.contains { name.hasSuffix("." + $0) }
    }

    /// Why OpenSlide cannot be used here, or nil when it can.
    public static var openSlideProblem: String? {
        if case let .failure(error) = WholeSlide.openSlideVersion { return "OpenSlide cannot be loaded (run `make setup`, or set HEADROOM_OPENSLIDE):\(error.detail)" }
        return nil
    }
}
