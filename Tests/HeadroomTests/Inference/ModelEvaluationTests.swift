import Foundation
import Testing
import Torch
@testable import HeadroomData
@testable import HeadroomInference

@Suite struct ModelEvaluationTests {
    let fixture: InferenceFixture
    init() throws { fixture = try InferenceFixture.shared.get() }

    @Test(arguments: [("val", 10), ("train", 20)])
    func countsEveryImageAndAgreesWithItsConfusionMatrix(split: String, images: Int) throws {
        let classifier = try Classifier(contentsOf: fixture.runDirectory)
        let folder = split == "val" ? fixture.validation : fixture.train
        let evaluation = try ModelEvaluation(
            classifier: classifier, imageFolder: folder.path, imageSize: InferenceFixture.resolution, batchSize: 4)
        let counts = evaluation.confusion.counts

        #expect(evaluation.result.samples == images)
        #expect(counts.flatMap { $0 }.reduce(0, +) == images)
        let classCount = SyntheticDataset.classNames.count
        #expect(evaluation.metrics.classes.map(\.support) == Array(repeating: images / classCount, count: classCount))
        #expect(evaluation.unreadableImages.isEmpty)
        #expect(evaluation.result.top5 == nil, "five classes: the top five always hold the true one")
        #expect(evaluation.result.loss.isFinite && evaluation.result.loss > 0)
        let correct = (0..<classCount).reduce(0) { $0 + counts[$1][$1] }
        #expect(abs(evaluation.result.top1 - Double(correct) / Double(images)) < 1e-12)
        #expect(abs(evaluation.metrics.accuracy - evaluation.result.top1) < 1e-12)
        for (index, scores) in evaluation.metrics.classes.enumerated() {
            let predicted = counts.map { $0[index] }.reduce(0, +)
            let expectedPrecision = predicted == 0 ? 0 : Double(counts[index][index]) / Double(predicted)
            #expect(abs(scores.precision - expectedPrecision) < 1e-12)
            #expect(abs(scores.recall - Double(counts[index][index]) / Double(images / classCount)) < 1e-12)
        }
    }

    /// The same images through `predict` give the same top-1 classes as the confusion
    /// matrix counts: both paths run the model in evaluation mode on the same pixels.
    @Test func agreesWithPredict() throws {
        let classifier = try Classifier(contentsOf: fixture.modelFile)
        let evaluation = try ModelEvaluation(
            classifier: classifier, imageFolder: fixture.validation.path, imageSize: InferenceFixture.resolution)
        let data = try ImageFolder(root: fixture.validation.path).scan()
        let predictions = try classifier.predict(
            files: data.samples.map(\.path), imageSize: InferenceFixture.resolution, topK: 1, batchSize: 5)
        var counts = Array(repeating: Array(repeating: 0, count: SyntheticDataset.classNames.count), count: SyntheticDataset.classNames.count)
        for (sample, prediction) in zip(data.samples, predictions) {
            let top = try #require(prediction.classes.first)
            let predicted = try #require(data.classes.firstIndex(of: top.name))
            counts[sample.classIndex][predicted] += 1
        }
        #expect(counts == evaluation.confusion.counts)
    }

    @Test func refusesDataWithOtherClasses() throws {
        let classifier = try Classifier(contentsOf: fixture.modelFile)
        let other = try fixture.folder("other-classes")
        for name in ["circles", "hexagons"] {
            try FileManager.default.createDirectory(at: other.appendingPathComponent(name), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: fixture.validation.appendingPathComponent("circles/0000.jpg"), to: other.appendingPathComponent("\(name)/a.jpg"))
        }
        let error = ClassifierError.classMismatch(checkpoint: SyntheticDataset.classNames, data: ["circles", "hexagons"])
        #expect(throws: error) {
            try ModelEvaluation(classifier: classifier, imageFolder: other.path, imageSize: InferenceFixture.resolution)
        }
        #expect(error.description.contains(
            "only in the checkpoint: [checkers, squares, stripes, triangles], only in the data: [hexagons]"))
    }

    @Test func encodesTheDocumentedJSON() throws {
        let classifier = try Classifier(contentsOf: fixture.modelFile)
        let evaluation = try ModelEvaluation(
            classifier: classifier, imageFolder: fixture.validation.path, imageSize: InferenceFixture.resolution)
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(evaluation)) as? [String: Any])
        #expect(Set(object.keys) == [
            "classes", "image_size", "samples", "loss", "top1", "top5", "per_class", "macro_average", "weighted_average",
            "confusion", "unreadable_images",
        ])
        #expect(object["top5"] is NSNull, "five classes: no top-5")
        #expect(object["confusion"] as? [[Int]] == evaluation.confusion.counts)
        let perClass = try #require(object["per_class"] as? [[String: Any]])
        #expect(perClass.map { $0["name"] as? String } == SyntheticDataset.classNames)
        #expect(perClass.map { $0["support"] as? Int } == [2, 2, 2, 2, 2])
    }
}
