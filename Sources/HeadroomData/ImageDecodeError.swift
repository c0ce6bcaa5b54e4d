/// Why an image file could not be decoded, and which file it was.
public struct ImageDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The file could not be opened or read.
        case unreadable
        /// Not a format the decoder reads (JPEG, PNG, WebP, TIFF, BMP), judged by its leading bytes rather
        /// than its name, or a variant of one it does not (RLE BMP, animated WebP).
        case unsupportedFormat
        /// The data ends before the image does.
        case truncated
        /// The codec rejected the data.
        case corrupt
        /// The header declares more pixels than the decoder's limit allows.
        case tooManyPixels
        /// Memory ran out inside the codec.
        case outOfMemory
        /// The image's bands are not the data set's.
        case bandMismatch
        /// A file holding several images (a multi-frame DICOM) where one is read.
        case severalFrames
        /// A whole slide, and OpenSlide could not be loaded.
        case needsOpenSlide
    }

    public let path: String
    public let kind: Kind
    /// What the codec or the operating system said.
    public let detail: String

    public init(path: String, kind: Kind, detail: String) {
        self.path = path
        self.kind = kind
        self.detail = detail
    }

    public var description: String {
        let summary = switch kind {
        case .unreadable: "cannot read the file"
        case .unsupportedFormat: "not an image Headroom reads (JPEG, PNG, WebP, TIFF, BMP, DICOM)"
        case .truncated: "the image file is truncated"
        case .corrupt: "the image data is corrupt"
        case .tooManyPixels: "the image has too many pixels (a decompression bomb?); raise the pixel limit if it is genuine"
        case .outOfMemory: "out of memory while decoding"
        case .bandMismatch: "the image's bands differ from the data set's"
        case .severalFrames: "the file holds several images"
        case .needsOpenSlide: "whole slides are read through OpenSlide, which could not be loaded"
        }
        return "\(PathNames.display(path)): \(summary): \(detail)"
    }
}
