import Foundation
import Testing
import TestSupport
import Headroom

@Suite("The loader's host memory")
struct LoaderMemoryTests {
    /// JPEGs decode at the DCT scale that keeps twice the resolution (1/2 here: a shorter side of
    /// 60 px ≥ 2 × 24), PNGs whole; one worker holds the file and its pixels, and a PNG's reader
    /// also its inflated rows (a filter byte and 3 bytes a pixel each) and a copy of the file's
    /// image data.
    @Test("prefetched batches and the largest image one worker decodes, from the files themselves", arguments: [
        (SyntheticDataset.FileFormat.jpeg, 80 * 60, 0, 1), (.png, 160 * 120, (1 + 160 * 3) * 120, 2),
    ])
    func estimateFollowsTheFiles(format: SyntheticDataset.FileFormat, decodedPixels: Int, inflatedRows: Int, fileCopies: Int) throws {
        let directory = try TemporaryDirectory()
        var set = SyntheticDataset()
        set.classes = ["circles", "stripes"]
        set.trainPerClass = 3
        set.validationPerClass = 1
        set.width = 160
        set.height = 120
        set.format = format
        let (train, _) = try set.write(to: URL(fileURLWithPath: directory.path))
        let samples = try ImageFolder(root: train.path).scan()
        let memory = LoaderMemory.estimate(samples: samples, batchSize: 4, resolution: 24, workers: 3)
        #expect(memory.prefetchedBytes == 3 * 4 * 3 * 24 * 24)
        #expect(memory.sampledImages == 6)
        #expect(memory.largestImage == ImageSize(width: 160, height: 120))
        var largestFile = 0
        for sample in samples.samples {
            largestFile = max(largestFile, try #require(try FileManager.default.attributesOfItem(atPath: sample.path)[.size] as? Int))
        }
        #expect(memory.decodeBytesPerWorker == fileCopies * largestFile + decodedPixels * 3 + inflatedRows)
        #expect(memory.totalBytes == memory.prefetchedBytes + 3 * memory.decodeBytesPerWorker)
    }
}
