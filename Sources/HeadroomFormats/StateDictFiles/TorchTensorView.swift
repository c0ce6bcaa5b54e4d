import Foundation
import TorchTypes

/// A storage blob of a torch archive, as a persistent ID names it:
/// `('storage', torch.FloatStorage, '0', 'cpu', 6)` is `data/0`, six floats.
struct TorchStorageReference {
    let key: String
    let dtype: DType
    let elementCount: Int
}

/// A tensor as torch pickles it: a strided view into a storage that other
/// tensors may share. Copying it out gives contiguous row-major bytes whatever
/// the view's layout (transposed, sliced, expanded with zero strides).
struct TorchTensorView {
    let storage: TorchStorageReference
    /// Offset of the first element, in elements.
    let offset: Int
    let shape: [Int]
    /// Distance between neighbours along each dimension, in elements.
    let strides: [Int]

    static let maximumExpandedByteCount = 1 << 30

    /// Copies the viewed elements out of `storageBytes`, the whole storage
    /// (possibly a slice of the mapped archive), swapping each element's bytes when the archive was written big-endian.
    func materialized(from storageBytes: Data, isBigEndian: Bool) throws(PickleError) -> TensorRecord {
        let elementSize = storage.dtype.elementSize
        guard storageBytes.count == storage.elementCount * elementSize else {
            throw PickleError(
                "storage \(storage.key) holds \(storageBytes.count) bytes, not \(storage.elementCount) elements")
        }
        guard shape.count == strides.count, offset >= 0, strides.allSatisfy({ $0 >= 0 }),
            let count = TensorRecord.elementCount(of: shape)
        else { throw PickleError("tensor view shape \(shape) strides \(strides) offset \(offset) is invalid") }
        guard count > 0 else { return TensorRecord(validatedDType: storage.dtype, shape: shape, bytes: Data()) }
        // Views whose elements do not overlap never outgrow their storage; a
        // broadcast view (zero strides) can, and a hostile one could ask for
        // exabytes. Real state dicts stay far below this cap.
        guard count * elementSize <= max(storageBytes.count, Self.maximumExpandedByteCount) else {
            throw PickleError(
                "tensor view shape \(shape) strides \(strides) would expand storage \(storage.key) beyond 1 GiB")
        }

        // Every element must lie inside the storage: check the furthest one.
        var furthest = offset
        for (size, stride) in zip(shape, strides) {
            let (step, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflowAgain) = furthest.addingReportingOverflow(step)
            guard !overflow, !overflowAgain else { throw PickleError("tensor view strides \(strides) overflow") }
            furthest = sum
        }
        guard furthest < storage.elementCount else {
            throw PickleError(
                "tensor view shape \(shape) strides \(strides) offset \(offset) reaches past storage \(storage.key) of \(storage.elementCount) elements"
            )
        }

        var bytes =
            isContiguous
            ? storageBytes.withUnsafeBytes { Data($0[offset * elementSize..<(offset + count) * elementSize]) }
            : gathered(from: storageBytes, count: count)
        if isBigEndian && elementSize > 1 { Self.reverseElementBytes(&bytes, elementSize: elementSize) }
        return TensorRecord(validatedDType: storage.dtype, shape: shape, bytes: bytes)
    }

    /// Row-major with no gaps; sizes of 1 may carry any stride.
    private var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1 && stride != expected { return false }
            expected *= size
        }
        return true
    }

    /// Walks the view in row-major order, copying the innermost dimension as
    /// one run when its elements are adjacent.
    private func gathered(from storageBytes: Data, count: Int) -> Data {
        let elementSize = storage.dtype.elementSize
        let rank = shape.count
        let (innerSize, innerStride) = (shape[rank - 1], strides[rank - 1])
        var output = Data(count: count * elementSize)
        output.withUnsafeMutableBytes { destination in
            storageBytes.withUnsafeBytes { source in
                var index = [Int](repeating: 0, count: rank - 1)
                var base = offset
                var written = 0
                for _ in 0..<(count / innerSize) {
                    if innerStride == 1 {
                        let runBytes = innerSize * elementSize
                        destination.baseAddress!.advanced(by: written)
                            .copyMemory(from: source.baseAddress!.advanced(by: base * elementSize), byteCount: runBytes)
                        written += runBytes
                    } else {
                        for inner in 0..<innerSize {
                            destination.baseAddress!.advanced(by: written).copyMemory(
                                from: source.baseAddress!.advanced(by: (base + inner * innerStride) * elementSize),
                                byteCount: elementSize)
                            written += elementSize
                        }
                    }
                    // Advance the outer dimensions like an odometer.
                    var dimension = rank - 2
                    while dimension >= 0 {
                        index[dimension] += 1
                        base += strides[dimension]
                        if index[dimension] < shape[dimension] { break }
                        base -= strides[dimension] * shape[dimension]
                        index[dimension] = 0
                        dimension -= 1
                    }
                }
            }
        }
        return output
    }

    private static func reverseElementBytes(_ bytes: inout Data, elementSize: Int) {
        bytes.withUnsafeMutableBytes { buffer in
            for start in stride(from: 0, to: buffer.count, by: elementSize) {
                var low = start
                var high = start + elementSize - 1
                while low < high {
                    buffer.swapAt(low, high)
                    low += 1
                    high -= 1
                }
            }
        }
    }
}
