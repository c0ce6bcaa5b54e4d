import Foundation

extension TensorRecord {
    /// The elements as `Double`, in row-major order.
    ///
    /// Every supported type converts exactly except `int64` values beyond
    /// ±2⁵³. Meant for inspection, tests and small tensors, not for bulk data.
    public func doubleValues() -> [Double] {
        bytes.withUnsafeBytes { raw in
            (0..<elementCount).map { index in
                let offset = index * dtype.elementSize
                switch dtype {
                case .float64: return Double(bitPattern: raw.loadLittleEndian(UInt64.self, at: offset))
                case .float32:
                    return Double(Float(bitPattern: raw.loadLittleEndian(UInt32.self, at: offset)))
                case .float16: return Self.double(fromFloat16Bits: raw.loadLittleEndian(UInt16.self, at: offset))
                case .bfloat16:
                    let bits = UInt32(raw.loadLittleEndian(UInt16.self, at: offset)) << 16
                    return Double(Float(bitPattern: bits))
                case .int64: return Double(Int64(bitPattern: raw.loadLittleEndian(UInt64.self, at: offset)))
                case .int32: return Double(Int32(bitPattern: raw.loadLittleEndian(UInt32.self, at: offset)))
                case .int16: return Double(Int16(bitPattern: raw.loadLittleEndian(UInt16.self, at: offset)))
                case .int8: return Double(Int8(bitPattern: raw[offset]))
                case .uint8: return Double(raw[offset])
                case .bool: return raw[offset] == 0 ? 0 : 1
                }
            }
        }
    }

    /// IEEE 754 binary16 to `Double`, written out because `Float16` is not
    /// available on every platform Swift builds for.
    static func double(fromFloat16Bits bits: UInt16) -> Double {
        let sign: Double = bits & 0x8000 == 0 ? 1 : -1
        let exponent = Int((bits >> 10) & 0x1F)
        let fraction = Double(bits & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24  // zero and subnormals
        case 0x1F: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Loads a little-endian integer at a byte offset that need not be aligned.
    func loadLittleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
