import Foundation
import TestSupport
import Testing
import Torch
import TorchNN

/// Synchronised BatchNorm over real Gloo collectives (ranks as threads, float64): the layer
/// on every rank's share equals one BatchNorm on the whole batch, and a rank that fails, or
/// has no samples, never leaves the others waiting.
@Suite(.serialized) struct SynchronizedBatchNormTests {
    /// A batch of five 4×3 maps of three channels, off-centre (mean 3, deviation 2), and a
    /// fixed upstream gradient for the loss Σ y · upstream.
    static func batch() throws -> (input: Tensor, upstream: Tensor) {
        let generator = try Generator(seed: 11)
        let input = try Tensor.randn([5, 3, 4, 3], dtype: .float64, generator: generator) * 2 + 3
        let upstream = try Tensor.randn([5, 3, 4, 3], dtype: .float64, generator: generator)
        return (input, upstream)
    }

    /// A float64 BatchNorm with a non-trivial affine part.
    static func layer() throws -> BatchNorm2d {
        let norm = try BatchNorm2d(features: 3)
        try norm.move(dtype: .float64)
        try withoutGradient { () throws(TorchError) in
            try norm.weight.copyInPlace(from: Tensor([1.5, 0.5, -1.0], shape: [3]))
            try norm.bias.copyInPlace(from: Tensor([0.1, -0.2, 0.3], shape: [3]))
        }
        return norm
    }

    /// Output, input gradient, weight and bias gradients, running mean and variance.
    typealias Results = [[Double]]

    /// The layer's forward and backward on `rows` of the batch; `sync` nil: alone.
    static func run(rows: Range<Int>, sync: BatchNormSynchronization?) throws -> Results {
        let (input, upstream) = try batch()
        let norm = try layer()
        norm.synchronize(with: sync, tag: 3)
        let x = try input.slice(dim: 0, rows).detached().requiringGradient()
        let y = try norm(x)
        try (y * upstream.slice(dim: 0, rows)).sum().backward()
        return try [y, x.grad!, norm.weight.grad!, norm.bias.grad!, norm.runningMean, norm.runningVariance].map {
            try $0.array(of: Double.self)
        }
    }

    /// Each rank's consecutive share of the five samples.
    static func shares(_ worldSize: Int) -> [Range<Int>] {
        worldSize == 2 ? [0..<3, 3..<5] : [0..<2, 2..<4, 4..<5]
    }

    @Test(arguments: [2, 3]) func everyRanksShareNormalisesAsOneBatch(worldSize: Int) throws {
        let perRank = try withLocalRanks(worldSize) { group -> (Results, Int, BatchNormSynchronization.Failure) in
            let sync = try BatchNormSynchronization(group: group, channels: 8)
            sync.isActive = true
            let results = try Self.run(rows: Self.shares(worldSize)[group.rank], sync: sync)
            let outcome = try sync.meet(reporting: .none)
            return (results, sync.collectives, outcome.worst)
        }
        let whole = try Self.run(rows: 0..<5, sync: nil)
        // Outputs and input gradients are the whole batch's rows; the parameter gradients'
        // sum over ranks is the whole batch's (data-parallel sums them after backward).
        expectClose(perRank.flatMap { $0.0[0] }, whole[0], within: .exactInFloat64)
        expectClose(perRank.flatMap { $0.0[1] }, whole[1], within: .exactInFloat64)
        for parameter in [2, 3] {
            let summed = (0..<3).map { channel in perRank.map { $0.0[parameter][channel] }.reduce(0, +) }
            expectClose(summed, whole[parameter], within: .exactInFloat64)
        }
        for (results, collectives, worst) in perRank {
            // Running statistics from the global batch, unbiased as BatchNorm's, on every rank.
            expectClose(results[4], whole[4], within: .exactInFloat64)
            expectClose(results[5], whole[5], within: .exactInFloat64)
            // Statistics, the backward's sums, the meeting: three collectives, no more.
            #expect(collectives == 3)
            #expect(worst == .none)
        }
        // The plain layer was really different from the ranks' own batches.
        let alone = try Self.run(rows: Self.shares(worldSize)[0], sync: nil)
        #expect(abs(alone[0][0] - whole[0][0]) > 1e-3)
    }

    @Test func aRankWithNoSamplesTakesPartWithoutChangingTheStatistics() throws {
        let perRank = try withLocalRanks(2) { group -> Results? in
            let sync = try BatchNormSynchronization(group: group, channels: 3)
            sync.isActive = true
            defer { _ = try? sync.meet(reporting: .none) }
            return group.rank == 0 ? try Self.run(rows: 0..<3, sync: sync) : nil
        }
        let alone = try Self.run(rows: 0..<3, sync: nil)
        let first = try #require(perRank[0])
        for index in alone.indices { expectClose(first[index], alone[index], within: .exactInFloat64) }
    }

    /// Where rank 1 fails: before its forward, or between forward and backward.
    enum FailurePoint: CaseIterable { case forward, backward }

    @Test(arguments: FailurePoint.allCases) func aFailedRankIsSeenByEveryRankAtTheSamePoint(point: FailurePoint) throws {
        let outcomes = try withLocalRanks(2) { group -> (String, BatchNormSynchronization.Failure, Int) in
            let sync = try BatchNormSynchronization(group: group, channels: 3)
            sync.isActive = true
            let (input, upstream) = try Self.batch()
            let norm = try Self.layer()
            norm.synchronize(with: sync, tag: 1)
            let rows = Self.shares(2)[group.rank]
            var seen = "nothing"
            var report = BatchNormSynchronization.Failure.none
            do {
                let x = try input.slice(dim: 0, rows).detached().requiringGradient()
                if group.rank == 1 && point == .forward { throw TorchError.outOfMemory(requestedBytes: nil, message: "forced") }
                let y = try norm(x)
                if group.rank == 1 && point == .backward { throw TorchError.outOfMemory(requestedBytes: nil, message: "forced") }
                try (y * upstream.slice(dim: 0, rows)).sum().backward()
            } catch let error as TorchError {
                seen = if case .peerFailed = error { "peer" } else { "own" }
                report = error.isOutOfMemory ? .recoverable : .none
            }
            let outcome = try sync.meet(reporting: report)
            return (seen, outcome.worst, sync.collectives)
        }
        #expect(outcomes[0].0 == "peer" && outcomes[1].0 == "own")
        #expect(outcomes.allSatisfy { $0.1 == .recoverable })
        // Both ran the same number of collectives, so the next micro-batch starts in step.
        #expect(outcomes[0].2 == outcomes[1].2)
    }

    @Test func aFatalFailureNamesTheRank() throws {
        let outcomes = try withLocalRanks(3) { group -> (BatchNormSynchronization.Failure, Int?) in
            let sync = try BatchNormSynchronization(group: group, channels: 3)
            sync.isActive = true
            var report = BatchNormSynchronization.Failure.none
            if group.rank == 2 {
                report = .fatal
            } else {
                do { _ = try Self.run(rows: Self.shares(3)[group.rank], sync: sync) } catch TorchError.peerFailed {}
            }
            let outcome = try sync.meet(reporting: report)
            return (outcome.worst, outcome.failedRank)
        }
        for outcome in outcomes {
            #expect(outcome.0 == .fatal)
            #expect(outcome.1 == 2)
        }
    }
}
