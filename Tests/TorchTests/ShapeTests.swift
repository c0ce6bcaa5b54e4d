import Testing
import TestSupport
import Torch

@Suite struct ShapeTests {
    let x: Tensor

    init() throws {
        x = try Tensor((0..<6).map(Float.init), shape: [2, 3])
    }

    @Test func reshapePermuteFlatten() throws {
        expectClose(try x.reshaped([3, -1]), [0, 1, 2, 3, 4, 5], shape: [3, 2])
        expectClose(try x.permuted([1, 0]), [0, 3, 1, 4, 2, 5], shape: [3, 2])
        expectClose(try x.reshaped([1, 2, 3]).flattened(from: 1), [0, 1, 2, 3, 4, 5], shape: [1, 6])
        #expect(try x.unsqueezed(at: 0).shape == [1, 2, 3])
    }

    @Test func catAndStack() throws {
        expectClose(try Tensor.cat([x, x], dim: 0), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5], shape: [4, 3])
        #expect(try Tensor.cat([x, x], dim: 1).shape == [2, 6])
        #expect(try Tensor.stack([x, x, x]).shape == [3, 2, 3])
    }

    @Test func slicingAndIndexing() throws {
        expectClose(try x.slice(dim: 1, 1..<3), [1, 2, 4, 5], shape: [2, 2])
        expectClose(try x.slice(dim: 1, 0..<3, step: 2), [0, 2, 3, 5], shape: [2, 2])
        expectClose(try x.select(dim: 0, index: 1), [3, 4, 5], shape: [3])
        expectClose(try x.indexSelect(dim: 1, indices: try Tensor([2, 0] as [Int64])), [2, 0, 5, 3])
        expectClose(try x.flipped([1]), [2, 1, 0, 5, 4, 3])
    }

    @Test func slicesAreViews() throws {
        let row = try x.select(dim: 0, index: 0)
        try row.fillInPlace(-1)
        expectClose(x, [-1, -1, -1, 3, 4, 5])
    }
}
