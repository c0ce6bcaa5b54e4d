public import HeadroomData
public import HeadroomExecution
public import HeadroomMemory
public import HeadroomModels
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

/// Runs a model over labelled batches in evaluation mode, without gradients, and keeps
/// the sums on the device until the end (one host synchronisation per evaluation).
public final class Evaluator {
    public let pass: ForwardPass
    /// The batch and the streaming of each pass, and what to try when one runs out of memory.
    public let memory: ForwardPassMemory
    private let classCount: Int
    private var lossSum: Tensor?
    private var top1: Tensor?
    private var top5: Tensor?
    /// Flattened confusion counts, true · classes + predicted.
    private var confusion: Tensor?
    private var samples = 0

    public init(pass: ForwardPass, memory: ForwardPassMemory) {
        self.pass = pass
        self.memory = memory
        classCount = pass.model.classCount
    }

    /// An evaluation of its own, `batchSize` images a pass, streaming as `streaming` allows.
    public convenience init(pass: ForwardPass, batchSize: Int = 64, streaming: StreamingChoice = .auto) {
        self.init(pass: pass, memory: ForwardPassMemory(batchSize: batchSize, streaming: streaming))
    }

    /// Adds one batch of uint8 images and their labels.
    public func add(images: Tensor, labels: Tensor, streaming: ResNet.Streaming? = nil) throws(TorchError) {
        guard labels.shape[0] > 0 else { return }  // every image of the batch was skipped
        try withoutGradient { () throws(TorchError) in
            let targets = try labels.to(device: pass.device)
            let logits = try pass.logits(images: images, streaming: streaming).to(dtype: .float32)
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

    /// Adds every sample `loader` holds, in order, at `resolution`, as many a pass as `memory`
    /// allows: out of memory, it halves the batch and then streams (the same logits, computed
    /// in bands), as far as `--streaming` allows; beyond that `ForwardPassOutOfMemory` is thrown.
    public func add(allOf loader: BatchLoader, resolution: Int, purpose: String = "evaluation") throws {
        let count = loader.samples.samples.count
        var start = 0
        while start < count {
            let indices = Array(start..<min(count, start + memory.batchSize))
            let batch = try loader.batch(indices, resolution: resolution, epoch: 0)
            try memory.run(batch.images, resolution: resolution, purpose: purpose) { (images, rows, streaming) throws(TorchError) in
                let labels = rows.count == batch.labels.shape[0] ? batch.labels : try batch.labels.slice(dim: 0, rows)
                try add(images: images, labels: labels, streaming: streaming)
            }
            start += indices.count
        }
    }

    /// The results so far (host synchronisation).
    public func result() throws(TorchError) -> EvaluationResult {
        guard samples > 0, let lossSum, let top1, let top5, let confusion else {
            return EvaluationResult(loss: 0, top1: 0, top5: nil, samples: 0, confusion: [], streaming: memory.streaming)
        }
        let counts = try confusion.to(device: .cpu).array(of: Int64.self).map(Int.init)
        let matrix = (0..<classCount).map { Array(counts[($0 * classCount)..<(($0 + 1) * classCount)]) }
        let n = Double(samples)
        return EvaluationResult(
            loss: try lossSum.item() / n, top1: Double(try top1.itemInt()) / n,
            top5: classCount > 5 ? Double(try top5.itemInt()) / n : nil, samples: samples, confusion: matrix,
            streaming: memory.streaming)
    }
}
