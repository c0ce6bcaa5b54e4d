import Foundation
import TestSupport
import Testing
import Torch

/// Gradient buckets all-reduced while backward runs, over Gloo (ranks as threads, float64).
@Suite(.serialized) struct GradientReducerTests {
    /// Four parameters of 3, 5, 7 and 11 values; the loss is Σᵢ Σ (wᵢ · xᵢ)² with rank-dependent x.
    static func parameters() throws -> [Tensor] {
        try [3, 5, 7, 11].map { try Tensor.ones([$0], dtype: .float64).requiringGradient() }
    }

    static func loss(_ parameters: [Tensor], rank: Int) throws -> Tensor {
        var total = try Tensor.zeros([], dtype: .float64)
        for (index, parameter) in parameters.enumerated() {
            let x = try Tensor.arange(0, Double(parameter.count), dtype: .float64) + Double(rank + index)
            total = try total + (parameter * x).square().sum()
        }
        return total
    }

    /// Each rank's gradients after `body` ran its backward and finished the reducer, with how
    /// many buckets were launched when backward returned.
    static func reduce(overlap: Bool) throws -> [([[Double]], launched: Int, buckets: Int)] {
        try withLocalRanks(2) { group in
            let parameters = try Self.parameters()
            // 8 bytes a value, 100-byte buckets: [11], [7], [5, 3] in reverse order.
            let reducer = try GradientReducer(group: group.sibling(named: "test/gradients"), parameters: parameters, bucketBytes: 100)
            keepForTheProcess(reducer)  // and its group
            try reducer.attachGradients()
            if overlap { try reducer.arm() }
            try Self.loss(parameters, rank: group.rank).backward()
            let progress = try reducer.progress()
            try reducer.finish(keepingSums: true)
            return (try parameters.map { try $0.grad!.array(of: Double.self) }, progress.launched, progress.buckets)
        }
    }

    @Test(arguments: [true, false]) func theSumsOfEveryRanksGradientsArriveInEveryRanksGradients(overlap: Bool) throws {
        let ranks = try Self.reduce(overlap: overlap)
        // The reference: both ranks' gradients, summed here.
        var expected: [[Double]] = []
        for rank in 0..<2 {
            let parameters = try Self.parameters()
            try Self.loss(parameters, rank: rank).backward()
            let grads = try parameters.map { try $0.grad!.array(of: Double.self) }
            expected = expected.isEmpty ? grads : zip(expected, grads).map { zip($0, $1).map { $0 + $1 } }
        }
        for (grads, launched, buckets) in ranks {
            expectClose(grads, expected, within: .exactInFloat64)
            #expect(buckets == 3)
            // Armed, every bucket was launched inside backward; unarmed, none was.
            #expect(launched == (overlap ? 3 : 0))
        }
    }
}
