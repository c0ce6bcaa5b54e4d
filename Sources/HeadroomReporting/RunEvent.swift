public import HeadroomMemory
public import HeadroomModels

/// Something that happened during training, other than a step or an epoch.
public enum RunEvent: Sendable, Equatable {
    case outOfMemory(OutOfMemory)
    case replan(Replan)
    case checkpoint(Checkpoint)
    case badImage(BadImage)
    case stage(Stage)
    case diverged(Diverged)
    case resumed(Resumed)

    /// The `type` of its metrics.jsonl row.
    public var type: String {
        switch self {
        case .outOfMemory: "oom"
        case .replan: "replan"
        case .checkpoint: "checkpoint"
        case .badImage: "bad_image"
        case .stage: "stage"
        case .diverged: "diverged"
        case .resumed: "resume"
        }
    }

    /// Where in the run an event happened; every event carries it.
    public struct Position: Sendable, Equatable, Codable {
        public var time: Double
        public var epoch: Int
        public var step: Int

        public init(time: Double, epoch: Int, step: Int) {
            self.time = time
            self.epoch = epoch
            self.step = step
        }
    }

    /// A micro-batch ran out of memory and was split (`"type": "oom"`).
    public struct OutOfMemory: Sendable, Equatable, Codable {
        public var resolution: Int
        /// The size that failed.
        public var microBatch: Int
        public var newMicroBatch: Int
        public var requestedBytes: Int?
        /// Set when one sample did not fit and the step now recomputes these segments.
        public var activationCheckpointing: [String]?
        /// Set when one sample did not fit with every segment recomputed: how the step streams now.
        public var streaming: ResNet.Streaming?

        public init(
            resolution: Int, microBatch: Int, newMicroBatch: Int, requestedBytes: Int?, activationCheckpointing: [String]?,
            streaming: ResNet.Streaming? = nil
        ) {
            self.resolution = resolution
            self.microBatch = microBatch
            self.newMicroBatch = newMicroBatch
            self.requestedBytes = requestedBytes
            self.activationCheckpointing = activationCheckpointing
            self.streaming = streaming
        }

        private enum CodingKeys: String, CodingKey {
            case resolution, streaming
            case microBatch = "micro_batch"
            case newMicroBatch = "new_micro_batch"
            case requestedBytes = "requested_bytes"
            case activationCheckpointing = "activation_checkpointing"
        }
    }

    /// The planner chose a new micro-batch and checked it with a real step.
    public struct Replan: Sendable, Equatable, Codable {
        public var resolution: Int
        public var microBatch: Int
        public var accumulation: Int
        public var predictedPeakBytes: Int
        public var verifiedPeakBytes: Int
        public var budgetBytes: Int
        /// The segments recomputed in backward (empty: none); absent in logs from before
        /// activation checkpointing.
        public var activationCheckpointing: [String]?
        /// How the start of the network is streamed, if it is.
        public var streaming: ResNet.Streaming?
        /// Their extra compute, as a fraction of a step.
        public var recomputeOverhead: Double?
        /// When `auto` checkpointing climbed: the largest micro-batch without it.
        public var uncheckpointedMicroBatch: Int?

        /// A new plan's row, as the trainer logs it when it plans a resolution.
        public init(_ plan: ResolutionPlan) {
            self.init(
                resolution: plan.resolution, microBatch: plan.microBatch, accumulation: plan.accumulation.steps,
                predictedPeakBytes: plan.predictedPeakBytes, verifiedPeakBytes: plan.verifiedPeakBytes, budgetBytes: plan.budgetBytes,
                activationCheckpointing: plan.checkpointedSegments.map(\.rawValue), streaming: plan.streaming,
                recomputeOverhead: plan.recomputeOverhead, uncheckpointedMicroBatch: plan.uncheckpointedMicroBatch)
        }

        public init(
            resolution: Int, microBatch: Int, accumulation: Int, predictedPeakBytes: Int, verifiedPeakBytes: Int, budgetBytes: Int,
            activationCheckpointing: [String]?, streaming: ResNet.Streaming? = nil, recomputeOverhead: Double?,
            uncheckpointedMicroBatch: Int?
        ) {
            self.streaming = streaming
            self.resolution = resolution
            self.microBatch = microBatch
            self.accumulation = accumulation
            self.predictedPeakBytes = predictedPeakBytes
            self.verifiedPeakBytes = verifiedPeakBytes
            self.budgetBytes = budgetBytes
            self.activationCheckpointing = activationCheckpointing
            self.recomputeOverhead = recomputeOverhead
            self.uncheckpointedMicroBatch = uncheckpointedMicroBatch
        }

        private enum CodingKeys: String, CodingKey {
            case resolution, accumulation, streaming
            case microBatch = "micro_batch"
            case predictedPeakBytes = "predicted_peak_bytes"
            case verifiedPeakBytes = "verified_peak_bytes"
            case budgetBytes = "budget_bytes"
            case activationCheckpointing = "activation_checkpointing"
            case recomputeOverhead = "recompute_overhead"
            case uncheckpointedMicroBatch = "uncheckpointed_micro_batch"
        }
    }

    public struct Checkpoint: Sendable, Equatable, Codable {
        public var path: String
        /// "epoch", "interval", "interrupt" or "best"; kept as text so new reasons still load.
        public var reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// An image the loader skipped.
    public struct BadImage: Sendable, Equatable, Codable {
        public var path: String
        public var reason: String
        /// "train" (replaced in its batch) or "val" (left out); absent in older logs.
        public var split: String?

        public init(path: String, reason: String, split: String?) {
            self.path = path
            self.reason = reason
            self.split = split
        }
    }

    /// Progressive resizing moved to a new resolution (and at the start of training).
    public struct Stage: Sendable, Equatable, Codable {
        public var resolution: Int

        public init(resolution: Int) { self.resolution = resolution }
    }

    /// The run went on from a checkpoint (`--resume`, or torchrun restarting its workers): the
    /// rows after that checkpoint's step were dropped, and those steps are trained again.
    public struct Resumed: Sendable, Equatable, Codable {
        /// The global step of the checkpoint it went on from.
        public var fromStep: Int
        /// Rows of metrics.jsonl recorded after that step and dropped.
        public var droppedRows: Int
        /// TorchElastic's restart count when torchrun restarted the workers; absent otherwise.
        public var torchrunRestart: Int?

        public init(fromStep: Int, droppedRows: Int, torchrunRestart: Int?) {
            self.fromStep = fromStep
            self.droppedRows = droppedRows
            self.torchrunRestart = torchrunRestart
        }

        private enum CodingKeys: String, CodingKey {
            case fromStep = "from_step"
            case droppedRows = "dropped_rows"
            case torchrunRestart = "torchrun_restart"
        }
    }

    /// The loss stopped being finite: the run stopped at this step.
    public struct Diverged: Sendable, Equatable, Codable {
        @Measured public var loss: Double

        public init(loss: Double) { self.loss = loss }
    }
}

extension RunEvent: Encodable {
    /// The payload's fields; the row's `type` and position are the writer's.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .outOfMemory(let event): try event.encode(to: encoder)
        case .replan(let event): try event.encode(to: encoder)
        case .checkpoint(let event): try event.encode(to: encoder)
        case .badImage(let event): try event.encode(to: encoder)
        case .stage(let event): try event.encode(to: encoder)
        case .resumed(let event): try event.encode(to: encoder)
        case .diverged(let event): try event.encode(to: encoder)
        }
    }

    /// Fields whose value is not finite, named as `non_finite` names them.
    var nonFiniteFields: [String: String] {
        guard case .diverged(let event) = self, let name = Measured.nonFiniteName(event.loss) else { return [:] }
        return ["loss": name]
    }
}
