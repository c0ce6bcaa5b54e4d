/// What an image file holds, read from its header: the facts `inspect` prints and the data set's
/// format is agreed from.
public struct ImageFacts: Sendable, Hashable, Codable {
    /// "JPEG", "PNG", "WebP", "TIFF", "BMP" or "DICOM".
    public var format: String
    /// As stored (before any EXIF orientation).
    public var size: ImageSize
    /// Samples per pixel as decoded: alpha and extra bands included (a palette expands to 3).
    public var bands: Int
    public var sampleType: SampleType
    /// Significant bits of an integer sample (12 for a 12-bit scan in 16-bit words).
    public var bitsPerSample: Int
    /// An 8-bit (or shallower) unsigned grey, palette, RGB or RGBA image: what the RGB photo path
    /// reads without losing anything but alpha.
    public var isPhoto: Bool
    /// One colour band (grey), perhaps with alpha.
    public var isGrey: Bool
    /// The band the file marks as alpha, if any.
    public var alphaBand: Int?
    /// A DICOM file's own facts.
    public var dicom: DicomFacts?

    /// The bands that carry the image: every band but a marked alpha.
    public var imageBands: Int { bands - (alphaBand == nil ? 0 : 1) }

    public init(
        format: String, size: ImageSize, bands: Int, sampleType: SampleType, bitsPerSample: Int, isPhoto: Bool, isGrey: Bool,
        alphaBand: Int? = nil, dicom: DicomFacts? = nil
    ) {
        self.format = format
        self.size = size
        self.bands = bands
        self.sampleType = sampleType
        self.bitsPerSample = bitsPerSample
        self.isPhoto = isPhoto
        self.isGrey = isGrey
        self.alphaBand = alphaBand
        self.dicom = dicom
    }
}

/// What a DICOM header says about its pixels.
public struct DicomFacts: Sendable, Hashable, Codable {
    public var photometric: String
    public var transferSyntax: String
    public var transferSyntaxName: String
    public var modality: String
    public var frames: Int
    public var bitsStored: Int
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
    /// The modality values of the smallest and largest storable values.
    public var valueRange: ClosedRange<Double>
}
