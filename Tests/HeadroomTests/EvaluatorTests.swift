import Foundation
import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels
@testable import HeadroomData
@testable import HeadroomExecution
@testable import HeadroomInference
@testable import HeadroomMemory

/// The evaluator's sums against the same quantities computed in Swift from the model's logits.
@Suite(.serialized) struct EvaluatorTests {
    func makeStep(classes: Int) throws -> TrainingStep {
        let model = try ResNet(.resnet18, classCount: classes, generator: Generator(seed: 4))
        model.eval()
        let optimizer = try SGD(parameters: model.namedParameters().map(\.tensor), learningRate: 0.1)
        return try TrainingStep(model: model, optimizer: optimizer, device: .cpu, precision: .fp32)
    }

    /// Loss, top-1, top-5 and confusion of `logits` (rows) for `labels`, in Double.
    func reference(logits: [[Float]], labels: [Int]) -> (loss: Double, top1: Double, top5: Double, confusion: [[Int]]) {
        let classes = logits[0].count
        var loss = 0.0, top1 = 0, top5 = 0
        var confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (row, label) in zip(logits, labels) {
            let values = row.map(Double.init)
            let largest = values.max()!
            loss += log(values.map { exp($0 - largest) }.reduce(0, +)) + largest - values[label]
            let ranked = values.indices.sorted { values[$0] > values[$1] }
            top1 += ranked[0] == label ? 1 : 0
            top5 += ranked.prefix(5).contains(label) ? 1 : 0
            confusion[label][ranked[0]] += 1
        }
        let n = Double(labels.count)
        return (loss / n, Double(top1) / n, Double(top5) / n, confusion)
    }

    @Test func sumsOverBatchesEqualTheReferenceWithSevenClasses() throws {
        let step = try makeStep(classes: 7)
        let generator = try Generator(seed: 9)
        let batches = try (0..<3).map { _ in try (Tensor.rand([6, 3, 32, 32], generator: generator) * 255).to(dtype: .uint8) }
        let labels: [[Int]] = [[0, 1, 2, 3, 4, 5], [6, 6, 0, 1, 2, 3], [4, 5, 6, 0, 3, 2]]
        let evaluator = Evaluator(pass: step.pass)
        var logits: [[Float]] = []
        for (images, batchLabels) in zip(batches, labels) {
            try evaluator.add(images: images, labels: Tensor(batchLabels.map(Int64.init)))
            let output = try withoutGradient { () throws(TorchError) in try step.pass.forward(step.pass.prepare(images)) }
            let flat = try output.array(of: Float.self)
            logits += (0..<batchLabels.count).map { Array(flat[($0 * 7)..<(($0 + 1) * 7)]) }
        }
        let result = try evaluator.result()
        let expected = reference(logits: logits, labels: labels.flatMap { $0 })
        #expect(result.samples == 18)
        #expect(abs(result.loss - expected.loss) < 1e-4)
        #expect(result.top1 == expected.top1)
        #expect(result.top5 == expected.top5)
        #expect(result.confusion == expected.confusion)
    }

    /// One image that does not fit the budget is evaluated streamed: the same results, where
    /// before the error ended validation.
    @Test func anImageThatDoesNotFitIsStreamed() throws {
        let directory = try TemporaryDirectory()
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "stripes"]
        (dataset.trainPerClass, dataset.validationPerClass) = (1, 2)
        (dataset.width, dataset.height) = (320, 320)
        let (_, validation) = try dataset.write(to: URL(fileURLWithPath: directory.path))
        let samples = try ImageFolder(root: validation.path).scan()
        let resolution = 320
        let step = try makeStep(classes: 2)
        func evaluate(streaming: StreamingChoice = .auto) throws -> EvaluationResult {
            let evaluator = Evaluator(pass: step.pass, batchSize: 4, streaming: streaming)
            try evaluator.add(allOf: BatchLoader(samples: samples, transform: .standardEvaluation, seed: 0, workers: 1),
                              resolution: resolution)
            return try evaluator.result()
        }
        func peak(streaming: ResNet.Streaming?) throws -> Int {
            let image = try (Tensor.rand([1, 3, resolution, resolution], generator: Generator(seed: 1)) * 255).to(dtype: .uint8)
            // The second of two passes: the first at a shape may make kernel primitives.
            for _ in 0..<2 {
                try Device.cpu.resetPeakMemory()
                _ = try withoutGradient { () throws(TorchError) in try step.pass.logits(images: image, streaming: streaming) }
            }
            return try Device.cpu.memoryStatistics().peakBytes
        }
        let whole = try evaluate()
        #expect(whole.streaming == nil)
        let firstRung = StreamingChoice.auto.forwardLadder(inputRows: resolution)[0]
        let streamedPeak = try peak(streaming: firstRung)
        let plainPeak = try peak(streaming: nil)
        try #require(streamedPeak < plainPeak, "streamed \(streamedPeak), whole \(plainPeak)")
        try Device.cpu.setMemoryBudget(bytes: (streamedPeak + plainPeak) / 2)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let banded = try evaluate()
        #expect(banded.streaming == firstRung)
        #expect(banded.samples == 4 && banded.confusion == whole.confusion && banded.top1 == whole.top1)
        #expect(abs(banded.loss - whole.loss) < 1e-5)
        // --streaming off is honoured in validation too: the out-of-memory error, not bands.
        let refused = #expect(throws: ForwardPassOutOfMemory.self) { try evaluate(streaming: .off) }
        #expect(refused?.description.contains("--streaming off forbids bands") == true)
        // A segment: bands through that segment, as training streams it (deeper than the rung
        // that fitted above, so it fits too).
        #expect(try evaluate(streaming: .through(.layer2)).streaming?.through == .layer2)
    }

    @Test func topFiveIsLeftOutWhenItCannotMiss() throws {
        // With five classes or fewer the true class is always among the top five.
        let step = try makeStep(classes: 5)
        let evaluator = Evaluator(pass: step.pass)
        let images = try (Tensor.rand([2, 3, 32, 32], generator: Generator(seed: 3)) * 255).to(dtype: .uint8)
        try evaluator.add(images: images, labels: Tensor([0, 4] as [Int64]))
        #expect(try evaluator.result().top5 == nil)
    }
}
