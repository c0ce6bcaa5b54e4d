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
        // Header, then the pixels, then the arrays too long for an entry, then the directory.
        let pixelOffset = 8
        var arrays: [UInt8] = []
        let arraysOffset = pixelOffset + pixels.count
        func entry(_ tag: UInt16, _ kind: UInt16, _ values: [UInt32]) -> (UInt16, UInt16, UInt32, UInt32) {
            let width = kind == 3 ? 2 : 4
            if values.count * width <= 4 {
                var inline: UInt32 = 0
                for (index, value) in values.enumerated() { inline |= value << (8 * UInt32(index * width)) }
                return (tag, kind, UInt32(values.count), inline)
            }
            let offset = UInt32(arraysOffset + arrays.count)
            for value in values { kind == 3 ? append(UInt16(value), to: &arrays) : append(value, to: &arrays) }
            if arrays.count % 2 == 1 { arrays.append(0) }
            return (tag, kind, UInt32(values.count), offset)
        }
        let short: UInt16 = 3, long: UInt16 = 4
        var entries = [
            entry(256, long, [UInt32(width)]), entry(257, long, [UInt32(height)]),
            entry(258, short, Array(repeating: UInt32(size * 8), count: bands)), entry(259, short, [1]),
            entry(262, short, [1]), entry(273, long, [UInt32(pixelOffset)]), entry(277, short, [UInt32(bands)]),
            entry(278, long, [UInt32(height)]), entry(279, long, [UInt32(pixels.count)]), entry(284, short, [1]),
        ]
        if bands > 1 { entries.append(entry(338, short, Array(repeating: 0, count: bands - 1))) }
        entries.append(entry(339, short, Array(repeating: UInt32(format), count: bands)))
        var file: [UInt8] = [0x49, 0x49, 42, 0]
        append(UInt32(arraysOffset + arrays.count), to: &file)
        file += pixels + arrays
        append(UInt16(entries.count), to: &file)
        for (tag, kind, count, value) in entries {
            append(tag, to: &file)
            append(kind, to: &file)
            append(count, to: &file)
            append(value, to: &file)
        }
        append(UInt32(0), to: &file)
        return file
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}
