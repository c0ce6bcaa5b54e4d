public import Torch
import TorchNN

/// Validation results: loss, top-1, top-5 (with more than five classes: with five or fewer the
/// true class is always among the top five) and the confusion matrix.
public struct EvaluationResult: Sendable, Codable {
    public var loss: Double
    public var top1: Double
    public var top5: Double?
    public var samples: Int
    /// Rows: true class; columns: predicted class.
    public var confusion: [[Int]]
    /// How the start of the network ran in bands once an image did not fit whole; nil when
    /// every image did.
    public var streaming: ResNet.Streaming? = nil
}

/// Not one image fitted, whole or in as many bands as `--streaming` allows.
public struct EvaluationOutOfMemory: Error, CustomStringConvertible {
    public var resolution: Int
    public var streaming: StreamingChoice
    /// The deepest streaming tried, nil when none was.
    public var deepest: ResNet.Streaming?
    public var underlying: any Error

    public var description: String {
        let tried = deepest.map { ", nor streamed \($0)" } ?? (streaming == .off ? " and --streaming off forbids bands" : "")
        let help = streaming == .off ? "--streaming auto, " : ""
        return "one image at \(resolution)×\(resolution) px does not fit for evaluation\(tried) (\(underlying)). "
            + "What would help: \(help)a lower --val-image-size or --image-size, or a larger --memory-budget"
    }
}

/// Runs a model over labelled batches in evaluation mode, without gradients, and keeps
/// the sums on the device until the end (one host synchronisation per evaluation).
public final class Evaluator {
    public let step: TrainingStep
    private let classCount: Int
    private var lossSum: Tensor?
    private var top1: Tensor?
    private var top5: Tensor?
    /// Flattened confusion counts, true · classes + predicted.
    private var confusion: Tensor?
    private var samples = 0
    /// Set once one image ran out of memory: the start of the network in bands from then on.
    private var streaming: ResNet.Streaming?

    /// Rungs for one image that does not fit, cheapest first. In evaluation BatchNorm uses
    /// its running statistics, so streaming costs the halos' recompute alone (no statistics
    /// passes), and deeper streaming holds less.
    static func streamingLadder(inputRows: Int) -> [ResNet.Streaming] {
        [(ResNet.Segment.layer2, 512, 8), (.layer3, 256, 16), (.layer4, 128, 32)].map {
            ResNet.Streaming(through: $0.0, rowsPerBand: $0.1, minimumBands: $0.2, inputRows: inputRows)
        }
    }

    /// Whether an image that does not fit whole may stream (`--streaming`): `off` never, a
    /// segment through that segment as training streams it; `auto` and `on` climb the ladder.
    public let streamingChoice: StreamingChoice

    public init(step: TrainingStep, streaming: StreamingChoice = .auto) {
        self.step = step
        classCount = step.model.classCount
        streamingChoice = streaming
    }

    /// The rungs this evaluation may climb, cheapest first.
    func allowedLadder(inputRows: Int) -> [ResNet.Streaming] {
        let ladder = Self.streamingLadder(inputRows: inputRows)
        switch streamingChoice {
        case .off: return []
        case .auto, .on: return ladder
        case .through: return streamingChoice.ladder(inputRows: inputRows)
        }
    }

    /// Adds one batch of uint8 images and their labels.
    public func add(images: Tensor, labels: Tensor) throws(TorchError) {
        guard labels.shape[0] > 0 else { return }  // every image of the batch was skipped
        try withoutGradient { () throws(TorchError) in
            let targets = try labels.to(device: step.device)
            let logits = try step.logits(images: images, recomputing: [], streaming: streaming).to(dtype: .float32)
            let loss = try logits.crossEntropy(targets: targets, reduction: .sum)
            let predicted = try logits.argmax(dim: 1)
            let hits = try predicted.eq(targets).sum()
            let k = min(5, classCount)
            let (_, topIndices) = try logits.topk(k, dim: 1)
            let topHits = try topIndices.eq(targets.unsqueezed(at: 1)).sum()
            let cells = try targets * classCount + predicted
            let counts = try cells.bincount(minLength: classCount * classCount)
            lossSum = try lossSum.map { (sum) throws(TorchError) in try sum + loss } ?? loss
            top1 = try top1.map { (sum) throws(TorchError) in try sum + hits } ?? hits
            top5 = try top5.map { (sum) throws(TorchError) in try sum + topHits } ?? topHits
            confusion = try confusion.map { (sum) throws(TorchError) in try sum + counts } ?? counts
            samples += labels.shape[0]
        }
    }

    /// Adds every sample `loader` holds, in order, at `resolution`, `batchSize` at a time.
    /// Out of memory, the batch is halved and the same samples tried again: evaluation has no
    /// accumulation to keep, so a smaller batch is all it takes; when one image does not fit,
    /// it streams, deeper until it fits (the same logits, computed in bands), as far as
    /// `streamingChoice` allows; beyond that the out-of-memory error is thrown.
    public func add(allOf loader: BatchLoader, resolution: Int, batchSize: Int) throws {
        let count = loader.samples.samples.count
        var batchSize = max(1, batchSize)
        var start = 0
        while start < count {
            let indices = Array(start..<min(count, start + batchSize))
            let batch = try loader.batch(indices, resolution: resolution, epoch: 0)
            do {
                try add(images: batch.images, labels: batch.labels)
                start += indices.count
            } catch {
                guard error.isOutOfMemory else { throw error }
                if batchSize > 1 {
                    batchSize /= 2
                    continue
                }
                let ladder = allowedLadder(inputRows: resolution)
                let next = streaming.flatMap { ladder.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
                guard next < ladder.count else {
                    throw EvaluationOutOfMemory(resolution: resolution, streaming: streamingChoice, deepest: streaming, underlying: error)
                }
                streaming = ladder[next]
            }
        }
    }

    /// The results so far (host synchronisation).
    public func result() throws(TorchError) -> EvaluationResult {
        guard samples > 0, let lossSum, let top1, let top5, let confusion else {
            return EvaluationResult(loss: 0, top1: 0, top5: nil, samples: 0, confusion: [], streaming: streaming)
        }
        let counts = try confusion.to(device: .cpu).array(of: Int64.self).map(Int.init)
        let matrix = (0..<classCount).map { Array(counts[($0 * classCount)..<(($0 + 1) * classCount)]) }
        let n = Double(samples)
        return EvaluationResult(
            loss: try lossSum.item() / n, top1: Double(try top1.itemInt()) / n,
            top5: classCount > 5 ? Double(try top5.itemInt()) / n : nil, samples: samples, confusion: matrix,
            streaming: streaming)
    }
}
