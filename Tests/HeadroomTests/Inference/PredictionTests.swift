import Foundation
import Testing
import Torch
@testable import HeadroomData
@testable import HeadroomInference

@Suite struct PredictionTests {
    let fixture: InferenceFixture
    init() throws { fixture = try InferenceFixture.shared.get() }

    /// A folder of good images with a broken one among them, and one in a subfolder.
    func folderWithABrokenImage() throws -> URL {
        let folder = try fixture.folder("predict")
        let nested = folder.appendingPathComponent("nested/deeper")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        for name in ["circles", "squares", "stripes"] {
            try FileManager.default.copyItem(
                at: fixture.validation.appendingPathComponent("\(name)/0000.jpg"), to: folder.appendingPathComponent("\(name).jpg"))
        }
        try FileManager.default.copyItem(
            at: fixture.validation.appendingPathComponent("circles/0001.jpg"), to: nested.appendingPathComponent("more.JPG"))
        try Data("this is not a JPEG".utf8).write(to: folder.appendingPathComponent("x.jpg"))
        try Data("notes".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        return folder
    }

    @Test func folderWalkFindsImagesAtAnyDepthAndKeepsGivenFiles() throws {
        let folder = try folderWithABrokenImage()
        let files = try ImageFiles.expand([folder.path, "/no/such/file.png"])
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent } == [
            "circles.jpg", "squares.jpg", "stripes.jpg", "x.jpg", "more.JPG", "file.png",
        ])
    }

    @Test(arguments: [1, 2, 64])
    func aBrokenImageIsReportedAndTheOthersArePredicted(batchSize: Int) throws {
        let classifier = try Classifier(contentsOf: fixture.modelFile)
        let files = try ImageFiles.expand([try folderWithABrokenImage().path])
        let predictions = try classifier.predict(
            files: files, imageSize: InferenceFixture.resolution, topK: 2, batchSize: batchSize)

        #expect(predictions.map(\.path) == files)
        let broken = try #require(predictions.first { $0.path.hasSuffix("/x.jpg") })
        #expect(!broken.isSuccessful && broken.classes.isEmpty)
        #expect(broken.error?.contains("not an image Headroom reads") == true)
        #expect(broken.error?.hasPrefix(broken.path) == false, "the path is not repeated in the reason")
        let predicted = predictions.filter(\.isSuccessful)
        #expect(predicted.count == 4)
        for prediction in predicted {
            #expect(prediction.classes.count == 2)
            #expect(prediction.classes[0].probability >= prediction.classes[1].probability)
            #expect(Set(prediction.classes.map(\.name)).isSubset(of: SyntheticDataset.classNames))
        }
    }

    /// All classes listed: probabilities are a softmax (sum to 1), and an image's are the
    /// same alone or in a batch (BatchNorm in evaluation mode).
    @Test func probabilitiesSumToOneAndDoNotDependOnTheBatch() throws {
        let classifier = try Classifier(contentsOf: fixture.modelFile)
        let files = try ImageFolder(root: fixture.validation.path).scan().samples.map(\.path)
        let together = try classifier.predict(files: files, imageSize: InferenceFixture.resolution, topK: 10, batchSize: 6)
        let alone = try classifier.predict(files: [files[3]], imageSize: InferenceFixture.resolution, topK: 10)
        for prediction in together {
            #expect(prediction.classes.count == SyntheticDataset.classNames.count, "top-k is capped at the class count")
            #expect(abs(prediction.classes.map(\.probability).reduce(0, +) - 1) < 1e-5)
        }
        #expect(alone[0].classes.map(\.name) == together[3].classes.map(\.name))
        for (a, b) in zip(alone[0].classes, together[3].classes) {
            #expect(abs(a.probability - b.probability) < 1e-5)
        }
    }
}

/// A batch too large for the memory budget is split, not lost.
@Suite(.serialized) struct PredictionMemoryTests {
    @Test func aBatchThatDoesNotFitIsSplitWithTheSameResults() throws {
        let fixture = try InferenceFixture.shared.get()
        let classifier = try Classifier(contentsOf: fixture.modelFile)
        let files = try FileManager.default.subpathsOfDirectory(atPath: fixture.train.path).filter { $0.hasSuffix(".jpg") }.sorted()
            .prefix(12).map { fixture.train.appendingPathComponent($0).path }
        try #require(files.count == 12)
        let expected = try classifier.predict(files: files, imageSize: 160, topK: 3, batchSize: 12)

        // The peak of the model on 12 images and on 6, and a budget between them.
        let images = try (Tensor.rand([12, 3, 160, 160], generator: Generator(seed: 1)) * 255).to(dtype: .uint8)
        func peak(_ count: Int) throws -> Int {
            try Device.cpu.resetPeakMemory()
            _ = try classifier.probabilities(for: images.slice(dim: 0, 0..<count))
            return try Device.cpu.memoryStatistics().peakBytes
        }
        let (six, twelve) = (try peak(6), try peak(12))
        try #require(six < twelve)
        try Device.cpu.setMemoryBudget(bytes: (six + twelve) / 2)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        #expect(throws: TorchError.self) { try classifier.probabilities(for: images) }
        let squeezed = try classifier.predict(files: files, imageSize: 160, topK: 3, batchSize: 12)
        try Device.cpu.setMemoryBudget(bytes: nil)
        #expect(squeezed.map(\.path) == expected.map(\.path))
        for (a, b) in zip(squeezed, expected) {
            #expect(a.classes.map(\.name) == b.classes.map(\.name))
            for (x, y) in zip(a.classes, b.classes) { #expect(abs(x.probability - y.probability) < 1e-5) }
        }
    }
}
