public import HeadroomExecution
public import HeadroomModels
public import Torch

/// The memory policy of passes without gradients (validation, `evaluate`, `predict`), on the
/// ladder a training step climbs, less what has no use without a backward: a batch that runs
/// out of memory is halved (a pass has no gradients to accumulate, so a smaller batch is all
/// it takes), and one image that does not fit streams the start of the network in bands,
/// deeper each time, as far as `--streaming` allows. Nothing is recomputed: without a
/// backward, no activation is kept for one. The training run's `MemoryController` keeps one
/// per resolution, so a validation that needed bands once starts in them the next epoch.
public final class ForwardPassMemory {
    public let streamingChoice: StreamingChoice
    /// Images per forward pass.
    public private(set) var batchSize: Int
    /// The start of the network in bands since one image did not fit whole; nil while every image has.
    public private(set) var streaming: ResNet.Streaming?

    public init(batchSize: Int, streaming: StreamingChoice) {
        self.batchSize = max(1, batchSize)
        streamingChoice = streaming
    }

    /// Records an out-of-memory error of a pass at `resolution` and says what to try next, in
    /// the words of a training step's recovery (`smallerMicroBatch`: the pass's batch).
    public func recordOutOfMemory(resolution: Int) -> MemoryController.Response {
        if batchSize > 1 {
            batchSize /= 2
            return .smallerMicroBatch(batchSize)
        }
        let ladder = streamingChoice.forwardLadder(inputRows: resolution)
        guard let rung = StreamingChoice.rung(after: streaming, on: ladder) else { return .none }
        streaming = rung
        return .stream(rung)
    }

    /// `body` over the images of `images` (a batch, first dimension) `batchSize` at a time, in
    /// order; a piece that runs out of memory is tried again on the next rung, until one image
    /// has no rung left (`ForwardPassOutOfMemory`). `body` gets the piece and its row range.
    public func run(
        _ images: Tensor, resolution: Int, purpose: String, _ body: (Tensor, Range<Int>, ResNet.Streaming?) throws(TorchError) -> Void
    ) throws {
        let count = images.shape[0]
        var start = 0
        while start < count {
            let rows = start..<min(count, start + batchSize)
            do {
                let piece = rows.count == count ? images : try images.slice(dim: 0, rows)
                try body(piece, rows, streaming)
                start = rows.upperBound
            } catch {
                guard error.isOutOfMemory else { throw error }
                if case .none = recordOutOfMemory(resolution: resolution) {
                    throw ForwardPassOutOfMemory(
                        purpose: purpose, resolution: resolution, streaming: streamingChoice, deepest: streaming, underlying: error)
                }
            }
        }
    }
}

/// Not one image fitted a pass without gradients, whole or in as many bands as `--streaming` allows.
public struct ForwardPassOutOfMemory: Error, CustomStringConvertible {
    /// "evaluation", "validation", "prediction".
    public var purpose: String
    public var resolution: Int
    public var streaming: StreamingChoice
    /// The deepest streaming tried, nil when none was.
    public var deepest: ResNet.Streaming?
    public var underlying: any Error

    public var description: String {
        let tried = deepest.map { ", nor streamed \($0)" } ?? (streaming == .off ? " and --streaming off forbids bands" : "")
        let help = streaming == .off ? "--streaming auto, " : ""
        return "one image at \(resolution)×\(resolution) px does not fit for \(purpose)\(tried) (\(underlying)). "
            + "What would help: \(help)a lower --val-image-size or --image-size, or a larger --memory-budget"
    }
}
