import CDicom
import CImageCodecs

/// How a file stores one sample of one band. Every type reaches the network as float32 with its
/// value unchanged (32- and 64-bit values rounded to float32); 8-bit unsigned photos keep the
/// uint8 path, and are converted on the device.
public enum SampleType: String, Sendable, Hashable, Codable, CaseIterable {
    case uint8, int8, uint16, int16, uint32, int32, float32, float64

    init?(codec value: himg_sample_type) {
        switch Int(value) {
        case Int(HIMG_SAMPLE_UINT8): self = .uint8
        case Int(HIMG_SAMPLE_INT8): self = .int8
        case Int(HIMG_SAMPLE_UINT16): self = .uint16
        case Int(HIMG_SAMPLE_INT16): self = .int16
        case Int(HIMG_SAMPLE_UINT32): self = .uint32
        case Int(HIMG_SAMPLE_INT32): self = .int32
        case Int(HIMG_SAMPLE_FLOAT32): self = .float32
        case Int(HIMG_SAMPLE_FLOAT64): self = .float64
        default: return nil
        }
    }

    /// A DICOM file's stored type, from BitsAllocated and PixelRepresentation.
    init(dicomBitsAllocated bits: Int, signed: Bool) {
        switch bits {
        case ...8: self = signed ? .int8 : .uint8
        case 9...16: self = signed ? .int16 : .uint16
        default: self = signed ? .int32 : .uint32
        }
    }

    /// Bytes a sample takes in the file.
    public var byteCount: Int {
        switch self {
        case .uint8, .int8: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .float64: 8
        }
    }

    /// The type a set that mixes two reports: itself when they agree, otherwise a float (what both become).
    func widened(with other: SampleType) -> SampleType {
        if self == other { return self }
        return self == .float64 || other == .float64 ? .float64 : .float32
    }
}
