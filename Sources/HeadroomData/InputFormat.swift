public import Torch

/// What a data set's images become before normalisation: how they are read, how many bands
/// the network takes and which of the files' bands they are.
///
/// Sets of 8-bit photos (JPEG, WebP, BMP, 8-bit RGB PNG and TIFF) are read as before: uint8
/// RGB, as PIL's `convert("RGB")` reads them, converted to float on the device. Anything deeper,
/// signed, float, or with bands beyond colour and alpha (16-bit scans, DICOM, multispectral
/// tiles) is read at full precision into float32, every band kept. A set of greyscale images
/// stays one band either way.
public struct InputFormat: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Reading: String, Sendable, Hashable, Codable {
        /// uint8 RGB (or its grey band) through the photo decoders.
        case photo
        /// float32, every band at the precision stored.
        case samples
        /// uint8 RGB regions of whole slides through OpenSlide, as `slide` says.
        case slide
    }

    public var reading: Reading
    /// Bands the files have (3 for colour photos, whatever their alpha).
    public var fileBands: Int
    /// `--bands`: the files' bands the network takes, 0-based, in order; nil for all of them.
    public var selection: [Int]?
    /// The files' sample type (a float when a set mixes types).
    public var sampleType: SampleType
    /// A file of the set, named when another disagrees with it.
    public var example: String?
    /// How whole slides are read (nil for other images).
    public var slide: SlideReading?

    public init(
        reading: Reading, fileBands: Int, selection: [Int]? = nil, sampleType: SampleType, example: String? = nil, slide: SlideReading? = nil
    ) {
        self.reading = reading
        self.fileBands = fileBands
        self.selection = selection
        self.sampleType = sampleType
        self.example = example
        self.slide = slide
    }

    /// Whole slides read as `reading` says.
    public static func slides(_ reading: SlideReading, example: String? = nil) -> InputFormat {
        InputFormat(reading: .slide, fileBands: 3, sampleType: .uint8, example: example, slide: reading)
    }

    /// 8-bit RGB photos: what Headroom read before it read anything else.
    public static let rgb = InputFormat(reading: .photo, fileBands: 3, sampleType: .uint8)

    /// The bands the network takes.
    public var bands: Int { selection?.count ?? fileBands }
    /// Photos as torchvision reads them, all three bands in order: ImageNet's statistics and weights fit as they are.
    public var isRGB: Bool { reading != .samples && fileBands == 3 && (selection == nil || selection == [0, 1, 2]) }
    /// The type of a batch's pixels as the loader hands them over.
    public var batchType: DType { reading == .samples ? .float32 : .uint8 }
    /// Bytes one pixel of a batch takes.
    public var batchBytesPerPixel: Int { bands * (reading == .samples ? 4 : 1) }

    public var description: String {
        let chosen = selection.map { " (bands \($0.map { String($0 + 1) }.joined(separator: ",")) of \(fileBands))" } ?? ""
        switch reading {
        case .photo: return fileBands == 3 ? "8-bit RGB\(chosen)" : "8-bit greyscale\(chosen)"
        case .samples: return "\(fileBands) band\(fileBands == 1 ? "" : "s") of \(sampleType.rawValue)\(chosen), read as float32"
        case .slide: return "whole slides, 8-bit RGB\(chosen)\(slide.map { " at \($0)" } ?? "")"
        }
    }
}
