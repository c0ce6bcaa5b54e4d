/// What `confusion.json` holds: the confusion matrix of the best epoch so far, the one the
/// best checkpoint and the report's headline score come from.
public struct ConfusionRecord: Codable, Sendable {
    public var classes: [String]
    /// Rows: true class; columns: predicted class.
    public var matrix: [[Int]]
    /// The epoch it was validated after (zero-based, as in metrics.jsonl).
    public var epoch: Int
}
