/// Validation predictions counted by class: `counts[t][p]` is how many samples of
/// true class `t` were predicted as class `p` (the layout of `confusion.json`).
public struct ConfusionMatrix: Sendable, Equatable {
    public let classes: [String]
    public let counts: [[Int]]
    /// The epoch it was validated after (zero-based), when the file says: the best one.
    public var epoch: Int?

    public init(classes: [String], counts: [[Int]], epoch: Int? = nil) throws(ReportError) {
        guard counts.count == classes.count else {
            throw .invalidConfusionMatrix("\(classes.count) class names but \(counts.count) rows")
        }
        for (index, row) in counts.enumerated() {
            guard row.count == classes.count else {
                throw .invalidConfusionMatrix("row \(index) has \(row.count) columns, expected \(classes.count)")
            }
            guard row.allSatisfy({ $0 >= 0 }) else { throw .invalidConfusionMatrix("row \(index) has a negative count") }
        }
        self.classes = classes
        self.counts = counts
        self.epoch = epoch
    }

    public var classCount: Int { classes.count }

    /// Samples whose true class is `index` (a row sum).
    public func support(ofClass index: Int) -> Int { counts[index].reduce(0, +) }

    /// Samples predicted as class `index` (a column sum).
    public func predictions(ofClass index: Int) -> Int { counts.reduce(0) { $0 + $1[index] } }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }

    public var correct: Int { classes.indices.reduce(0) { $0 + counts[$1][$1] } }
}

extension ConfusionMatrix: Decodable {
    private enum CodingKeys: String, CodingKey {
        case classes, epoch
        case counts = "matrix"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                classes: container.decode([String].self, forKey: .classes),
                counts: container.decode([[Int]].self, forKey: .counts),
                epoch: container.decodeIfPresent(Int.self, forKey: .epoch))
        } catch let error as ReportError {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: error.description))
        }
    }
}
