/// Something that happened during training, other than a step or an epoch.
public enum RunEvent: Sendable, Equatable {
    case outOfMemory(OutOfMemory)
    case replan(Replan)
    case checkpoint(Checkpoint)
    case badImage(BadImage)
    case stage(Stage)

    /// Where in the run an event happened; every event carries it.
    public struct Position: Sendable, Equatable, Decodable {
        public var time: Double
        public var epoch: Int
        public var step: Int
    }

    /// A micro-batch ran out of memory and was split (`"type": "oom"`).
    public struct OutOfMemory: Sendable, Equatable, Decodable {
        public var resolution: Int
        /// The size that failed.
        public var microBatch: Int
        public var newMicroBatch: Int
        public var requestedBytes: Int?

        private enum CodingKeys: String, CodingKey {
            case resolution
            case microBatch = "micro_batch"
            case newMicroBatch = "new_micro_batch"
            case requestedBytes = "requested_bytes"
        }
    }

    /// The planner chose a new micro-batch and checked it with a real step.
    public struct Replan: Sendable, Equatable, Decodable {
        public var resolution: Int
        public var microBatch: Int
        public var accumulation: Int
        public var predictedPeakBytes: Int
        public var verifiedPeakBytes: Int
        public var budgetBytes: Int

        private enum CodingKeys: String, CodingKey {
            case resolution, accumulation
            case microBatch = "micro_batch"
            case predictedPeakBytes = "predicted_peak_bytes"
            case verifiedPeakBytes = "verified_peak_bytes"
            case budgetBytes = "budget_bytes"
        }
    }

    public struct Checkpoint: Sendable, Equatable, Decodable {
        public var path: String
        /// "epoch", "interval", "interrupt" or "best"; kept as text so new reasons still load.
        public var reason: String
    }

    /// An image the loader skipped.
    public struct BadImage: Sendable, Equatable, Decodable {
        public var path: String
        public var reason: String
    }

    /// Progressive resizing moved to a new resolution.
    public struct Stage: Sendable, Equatable, Decodable {
        public var resolution: Int
    }
}
