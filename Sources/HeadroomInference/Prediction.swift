import HeadroomData

/// What a classifier says about one image file: its most likely classes, or why the file
/// could not be classified.
public struct Prediction: Sendable, Equatable, Encodable {
    public struct ClassProbability: Sendable, Equatable, Encodable {
        public let name: String
        /// The softmax probability, in [0, 1].
        public let probability: Double

        public init(name: String, probability: Double) {
            self.name = name
            self.probability = probability
        }
    }

    public let path: String
    /// The most likely classes, most likely first; empty when the image failed.
    public let classes: [ClassProbability]
    /// Why the file could not be classified (without the path); nil when it was.
    public let error: String?

    public init(path: String, classes: [ClassProbability]) {
        self.path = path
        self.classes = classes
        error = nil
    }

    public init(path: String, error: String) {
        self.path = path
        classes = []
        self.error = error
    }

    public var isSuccessful: Bool { error == nil }

    /// `path` for people and for output files: bytes that are not UTF-8 as `\xHH`.
    public var displayPath: String { PathNames.display(path) }

    private enum CodingKeys: String, CodingKey { case path, classes, error }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(displayPath, forKey: .path)
        try container.encode(classes, forKey: .classes)
        try container.encodeIfPresent(error, forKey: .error)
    }
}
