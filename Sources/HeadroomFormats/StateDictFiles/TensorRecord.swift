public import Foundation
public import TorchTypes

/// One tensor as a file stores it: element type, shape and raw bytes, with no
/// tie to any tensor library.
///
/// The bytes are contiguous, row-major and little-endian, and always exactly
/// `elementCount × dtype.elementSize` long; the initialiser enforces this so a
/// record never disagrees with itself. `bytes` is an owned, zero-based copy: it
/// does not keep the source file mapped.
public struct TensorRecord: Sendable, Equatable {
    public let dtype: DType
    /// Sizes of the dimensions, outermost first; `[]` for a 0-d (scalar) tensor.
    public let shape: [Int]
    public let bytes: Data

    /// Creates a record, checking that `bytes` holds exactly one value per element.
    public init(dtype: DType, shape: [Int], bytes: Data) throws(StateDictError) {
        guard let count = Self.elementCount(of: shape) else {
            throw .invalidRecord(key: "", reason: "shape \(shape) has a negative or too large size")
        }
        guard bytes.count == count * dtype.elementSize else {
            throw .invalidRecord(
                key: "",
                reason: "\(bytes.count) bytes given, \(dtype.safeTensorsName) \(shape) needs \(count * dtype.elementSize)")
        }
        self.dtype = dtype
        self.shape = shape
        // Rebase slices so that `bytes[0]` is the first byte.
        self.bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
    }

    /// The number of elements: the product of `shape`, 1 for a scalar.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The product of `shape`, or `nil` when a size is negative or the byte
    /// count of the tensor would overflow `Int`.
    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for size in shape {
            guard size >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            count = product
        }
        // Eight bytes is the widest element; check the byte count fits too.
        guard !count.multipliedReportingOverflow(by: 8).overflow else { return nil }
        return count
    }
}

extension TensorRecord {
    /// For readers that have already checked the byte count against the shape.
    init(validatedDType dtype: DType, shape: [Int], bytes: Data) {
        assert(Self.elementCount(of: shape).map { $0 * dtype.elementSize } == bytes.count)
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
    }
}
