import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels
@testable import HeadroomData
@testable import HeadroomExecution
@testable import HeadroomMemory
@testable import HeadroomDistributed
@testable import HeadroomTraining

/// The one rule under `--sync-bn`: W ranks, each training its share of every step in
/// micro-batches, take the optimiser steps of one process whose micro-batches are the
/// concatenation of the ranks' (BatchNorm in training mode, float64, real Gloo collectives
/// between ranks that are threads of this process).
@Suite(.serialized) struct SynchronizedStepTests {
    /// `count` 32 px images with fixed labels.
    static func batch(count: Int, resolution: Int) throws -> StepBatch {
        let images = try (Tensor.rand([count, 3, resolution, resolution], generator: Generator(seed: 21)) * 255).to(dtype: .uint8)
        let labels = try Tensor((0..<count).map { Int64($0 % 3) }, shape: [count])
        return StepBatch(images: images, labels: labels, sampleIndices: Array(0..<count))
    }

    /// A fresh, identically initialised float64 step with BatchNorm training.
    static func makeStep() throws -> TrainingStep {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 12))
        model.train()
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)
        return try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .fp64)
    }

    /// Every parameter and floating-point buffer.
    static func state(of step: TrainingStep) throws -> [[Double]] {
        try (step.model.namedParameters() + step.model.namedBuffers()).map(\.tensor).filter(\.dtype.isFloatingPoint).map {
            try $0.array(of: Double.self)
        }
    }

    /// Rows `rows` of `batch`, as one rank's share of a step of `batch.count` samples.
    static func share(_ batch: StepBatch, _ rows: Range<Int>) throws -> StepBatch {
        StepBatch(
            images: try batch.images.slice(dim: 0, rows), labels: try batch.labels.slice(dim: 0, rows),
            sampleIndices: Array(rows), stepSamples: batch.count)
    }

    /// Two steps on `worldSize` ranks at `micro` samples a micro-batch: every rank's state,
    /// its outcomes, and the micro-batch rows each rank ran.
    static func synchronized(_ batch: StepBatch, worldSize: Int, micro: Int) throws -> [([[Double]], [StepOutcome])] {
        try withLocalRanks(worldSize) { group in
            let step = try makeStep()
            let shares = evenSplit(batch.count, into: worldSize)
            let start = shares[..<group.rank].reduce(0, +)
            let mine = try share(batch, start..<(start + shares[group.rank]))
            let memory = try MemoryController.fixed(microBatch: micro, resolution: batch.resolution, effectiveBatch: shares.max()!, step: step)
            let environment = TorchrunEnvironment(
                rank: group.rank, worldSize: worldSize, localRank: group.rank, localWorldSize: worldSize, masterAddress: "127.0.0.1",
                masterPort: 1)
            let dataParallel = DataParallel(group: group, environment: environment)
            keepForTheProcess(dataParallel)  // its gradients' group too
            try dataParallel.allocateBuckets(parameters: step.optimizer.parameters, buffers: step.model.namedBuffers().map(\.tensor))
            try dataParallel.synchronizeBatchNorm(of: step.model)
            let executor = StepExecutor(step: step, memory: memory, dataParallel: dataParallel)
            let outcomes = try (0..<2).map { _ in try executor.run(mine) }
            return (try state(of: step), outcomes)
        }
    }

    /// The same two steps in one process: micro-batch j is every rank's micro-batch j, joined.
    static func concatenated(_ batch: StepBatch, worldSize: Int, micro: Int) throws -> [[Double]] {
        let step = try makeStep()
        let shares = evenSplit(batch.count, into: worldSize)
        let count = (shares.max()! + micro - 1) / micro
        var rowsOfMicroBatch = Array(repeating: [Int](), count: count)
        var start = 0
        for share in shares {
            var offset = start
            for (j, size) in evenSplit(share, into: count).enumerated() {
                rowsOfMicroBatch[j] += Array(offset..<(offset + size))
                offset += size
            }
            start += share
        }
        for _ in 0..<2 {
            for rows in rowsOfMicroBatch {
                let index = try Tensor(rows.map(Int64.init), shape: [rows.count])
                try step.accumulate(
                    images: batch.images.indexSelect(dim: 0, indices: index), labels: batch.labels.indexSelect(dim: 0, indices: index),
                    weight: Double(rows.count) / Double(batch.count))
            }
            try step.step()
        }
        return try state(of: step)
    }

    /// (ranks, samples, micro-batch, px): 2 ranks of 4 in 2+2; 3 ranks of 4, 4, 3 in 2+2, 2+2,
    /// 2+1; 3 ranks of 2, 2, 1 one at a time, where rank 2's second micro-batch is empty
    /// (48 px: layer4's BatchNorm then sees 2×2 maps of 2 samples, not one value of each —
    /// statistics of so few values make float64 rounding grow past the tolerance).
    @Test(arguments: [(2, 8, 2, 32), (3, 11, 2, 32), (3, 5, 1, 48)])
    func ranksTakeTheStepsOfTheirConcatenatedMicroBatches(worldSize: Int, samples: Int, micro: Int, resolution: Int) throws {
        let batch = try Self.batch(count: samples, resolution: resolution)
        let ranks = try Self.synchronized(batch, worldSize: worldSize, micro: micro)
        let reference = try Self.concatenated(batch, worldSize: worldSize, micro: micro)
        for (state, outcomes) in ranks {
            expectClose(state, reference, within: .exactInFloat64)
            #expect(outcomes.allSatisfy { $0.accumulation == 2 })
        }
        // Without synchronisation each rank's BatchNorm sees only its share: another step.
        let alone = try Self.concatenated(try Self.share(batch, 0..<(samples / worldSize)), worldSize: 1, micro: micro)
        #expect(zip(alone.joined(), reference.joined()).contains { abs($0 - $1) > 1e-6 })
    }
}
