import Foundation

/// Writes band-major samples as a baseline TIFF that libtiff, tifffile and GDAL read: one
/// uncompressed strip, little-endian, interleaved samples, MinIsBlack with the bands past the
/// first marked as unspecified extra samples (as tifffile writes a multi-band array). For
/// generated sets (`demo-data --bands`) and tests; not a general TIFF encoder.
public enum SampleTIFF {
    public enum WriteError: Error, CustomStringConvertible {
        case shape(String)
        public var description: String { switch self { case let .shape(text): text } }
    }

    /// `values` holds `bands * height * width` values, band-major; each is stored as `type`
    /// (uint8, uint16, int16 or float32), rounded and clamped to its range.
    public static func encode(_ values: [Double], bands: Int, height: Int, width: Int, type: SampleType) throws -> [UInt8] {
        guard bands >= 1, height >= 1, width >= 1, values.count == bands * height * width else {
            throw WriteError.shape("\(values.count) values are not \(bands) bands of \(height)×\(width)")
        }
        let (format, size): (UInt16, Int) = switch type {
        case .uint8: (1, 1)
        case .uint16: (1, 2)
        case .int16: (2, 2)
        case .float32: (3, 4)
        default: throw WriteError.shape("SampleTIFF writes uint8, uint16, int16 or float32 samples, not \(type.rawValue)")
        }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(values.count * size)
        let plane = height * width
        for pixel in 0..<plane {
            for band in 0..<bands {
                let value = values[band * plane + pixel]
                switch type {
                case .uint8: pixels.append(UInt8(clamping: Int(value.rounded())))
                case .uint16: append(UInt16(clamping: Int(value.rounded())), to: &pixels)
                case .int16: append(UInt16(bitPattern: Int16(clamping: Int(value.rounded()))), to: &pixels)
                default: append(Float(value).bitPattern, to: &pixels)
                }
            }
        }
        // The pixels as one strip, then the directory.
        var tiff = TIFFBuilder()
        let strip = tiff.append(data: pixels)
        var entries: [TIFFBuilder.Entry] = [
            .init(tag: 256, kind: .long, values: [UInt32(width)]), .init(tag: 257, kind: .long, values: [UInt32(height)]),
            .init(tag: 258, kind: .short, values: Array(repeating: UInt32(size * 8), count: bands)), .init(tag: 259, kind: .short, values: [1]),
            .init(tag: 262, kind: .short, values: [1]), .init(tag: 273, kind: .long, values: [strip]), .init(tag: 277, kind: .short, values: [UInt32(bands)]),
            .init(tag: 278, kind: .long, values: [UInt32(height)]), .init(tag: 279, kind: .long, values: [UInt32(pixels.count)]),
            .init(tag: 284, kind: .short, values: [1]),
            .init(tag: 339, kind: .short, values: Array(repeating: UInt32(format), count: bands)),
        ]
        if bands > 1 { entries.append(.init(tag: 338, kind: .short, values: Array(repeating: 0, count: bands - 1))) }
        tiff.appendDirectory(entries)
        return tiff.bytes
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        TIFFBuilder.append(value, to: &bytes)
    }
}
