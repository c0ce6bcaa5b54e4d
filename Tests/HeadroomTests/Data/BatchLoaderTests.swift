import Foundation
import TestSupport
import Headroom
import Testing
import Torch

@Suite("BatchLoader", .serialized)
struct BatchLoaderTests {
    let directory: TemporaryDirectory
    let samples: LabeledSamples

    init() throws {
        directory = try TemporaryDirectory()
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "stripes"]
        dataset.trainPerClass = 5
        dataset.validationPerClass = 1
        dataset.width = 64
        dataset.height = 48
        let (train, _) = try dataset.write(to: URL(fileURLWithPath: directory.path))
        // One file that cannot be decoded: it is replaced by a sample drawn from its own stream.
        let broken = train.appendingPathComponent("stripes/0001.jpg")
        try Data("not an image".utf8).write(to: broken)
        samples = try ImageFolder(root: train.path).scan()
    }

    func load(workers: Int, transform: SampleTransform) throws -> (bytes: [UInt8], indices: [Int], bad: [Int]) {
        let loader = BatchLoader(samples: samples, transform: transform, seed: 9, workers: workers)
        let batch = try loader.batch(Array(0..<samples.samples.count), resolution: 32, epoch: 1)
        return (try batch.images.bytes(), batch.sampleIndices, loader.badSamples.map(\.index))
    }

    @Test("a batch is the same with one worker or several, replacements included", arguments: [
        SampleTransform.standardTraining, .standardEvaluation,
    ])
    func workersDoNotChangeTheBatch(transform: SampleTransform) throws {
        let one = try load(workers: 1, transform: transform)
        let three = try load(workers: 3, transform: transform)
        #expect(one.bytes.count == samples.samples.count * 3 * 32 * 32)
        #expect(one.bytes == three.bytes)
        #expect(one.indices == three.indices)
        #expect(one.bad == [6], "stripes/0001.jpg is sample 6")
        #expect(one.indices[6] != 6, "the broken sample was replaced")
    }

    @Test("the calling thread's libtorch thread count is put back after a batch")
    func threadCountRestored() throws {
        let before = Torch.threadCount
        _ = try load(workers: 2, transform: .standardEvaluation)
        #expect(Torch.threadCount == before)
    }
}
