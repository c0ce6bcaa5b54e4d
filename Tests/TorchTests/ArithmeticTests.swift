import Foundation
import Testing
import TestSupport
import Torch

@Suite struct ArithmeticTests {
    @Test func elementwiseWithBroadcasting() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let b = try Tensor([10, 20, 30] as [Float])
        expectClose(try a + b, [11, 22, 33, 14, 25, 36], shape: [2, 3])
        expectClose(try a - b, [-9, -18, -27, -6, -15, -24])
        expectClose(try a * b, [10, 40, 90, 40, 100, 180])
        expectClose(try b / a, [10, 10, 10, 2.5, 4, 5])
        expectClose(try -a, [-1, -2, -3, -4, -5, -6])
        expectClose(try a.pow(2), [1, 4, 9, 16, 25, 36])
        expectClose(try 1 - a, [0, -1, -2, -3, -4, -5])
    }

    @Test func scalarsFollowPythonPromotion() throws {
        let ints = try Tensor([1, 2, 3] as [Int64])
        let doubled = try ints * 2
        #expect(doubled.dtype == .int64)
        #expect(try doubled.array(of: Int64.self) == [2, 4, 6])
        let halved = try ints * 0.5
        #expect(halved.dtype == .float32)
        expectClose(halved, [0.5, 1, 1.5])
        let floats = try Tensor([1, 2] as [Float])
        #expect(try (floats + 1).dtype == .float32)
    }

    @Test func inPlaceUpdates() throws {
        let x = try Tensor([1, 2, 3] as [Float])
        let alias = x
        try x += 1
        try x *= try Tensor([2, 2, 2] as [Float])
        expectClose(alias, [4, 6, 8])
        try x.addInPlace(try Tensor([1, 1, 1] as [Float]), alpha: -0.5)
        expectClose(x, [3.5, 5.5, 7.5])
        try x.addcmulInPlace(try Tensor([1, 2, 3] as [Float]), try Tensor([2, 2, 2] as [Float]), value: 0.5)
        expectClose(x, [4.5, 7.5, 10.5])
        try x.addcdivInPlace(try Tensor([1, 1, 1] as [Float]), try Tensor([2, 4, 8] as [Float]), value: 2)
        expectClose(x, [5.5, 8, 10.75])
    }

    @Test func unaryMath() throws {
        let x = try Tensor([-1, 0, 4] as [Double])
        expectClose(try x.abs(), [1, 0, 4])
        expectClose(try x.relu(), [0, 0, 4])
        expectClose(try x.exp(), [0.36787944117144233, 1, 54.598150033144236])
        expectClose(try x.sigmoid(), [0.2689414213699951, 0.5, 0.9820137900379085])
        expectClose(try x.clamped(min: -0.5, max: 2), [-0.5, 0, 2])
        expectClose(try x.clamped(max: 1), [-1, 0, 1])
        expectClose(try Tensor([4, 9] as [Double]).sqrt(), [2, 3])
        expectClose(try Tensor([1.4, -1.6] as [Double]).rounded(), [1, -2])
        let inf = try Tensor([1, .infinity, .nan] as [Double]).isFinite()
        #expect(try inf.array(of: Bool.self) == [true, false, false])
    }

    @Test func comparisonsAndWhere() throws {
        let a = try Tensor([1, 5, 3] as [Float])
        let b = try Tensor([2, 5, 1] as [Float])
        #expect(try a.lt(b).array(of: Bool.self) == [true, false, false])
        #expect(try a.eq(b).array(of: Bool.self) == [false, true, false])
        #expect(try a.ge(3).array(of: Bool.self) == [false, true, true])
        expectClose(try a.where(try a.gt(b), else: b), [2, 5, 3])
        expectClose(try a.maximum(b), [2, 5, 3])
        expectClose(try a.minimum(b), [1, 5, 1])
    }

    @Test func reductions() throws {
        let x = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        expectClose(try x.sum(), [21], shape: [])
        expectClose(try x.sum(dims: [0]), [5, 7, 9], shape: [3])
        expectClose(try x.mean(dims: [1], keepDims: true), [2, 5], shape: [2, 1])
        expectClose(try x.max(dims: [1]), [3, 6])
        expectClose(try x.min(), [1])
        #expect(try x.argmax(dim: 1).array(of: Int64.self) == [2, 2])
        let (values, indices) = try Tensor([3, 1, 4, 1, 5, 9, 2, 6] as [Float]).topk(3)
        expectClose(values, [9, 6, 5])
        #expect(try indices.array(of: Int64.self) == [5, 7, 4])
    }

    @Test func softmaxAgainstHandValues() throws {
        let x = try Tensor([1, 2, 3] as [Double], shape: [1, 3])
        let denominator = 2.718281828459045 + 7.38905609893065 + 20.085536923187668
        let expected = [2.718281828459045, 7.38905609893065, 20.085536923187668].map { $0 / denominator }
        expectClose(try x.softmax(dim: 1), expected)
        expectClose(try x.logSoftmax(dim: 1), expected.map { Foundation.log($0) })
    }
}

@Suite struct CountingTests {
    @Test func bincountCountsEachValue() throws {
        let counts = try Tensor([0, 2, 2, 5] as [Int64]).bincount(minLength: 7)
        #expect(try counts.array(of: Int64.self) == [1, 0, 2, 0, 0, 1, 0])
    }
}
