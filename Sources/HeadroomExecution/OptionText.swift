/// A setting saved as the text its option takes (`"auto"`, `"80%"`, `"stem,layer1"`), so a
/// run's config.json reads as its command line did, and parses back through the one parser.
public protocol OptionText: Codable {
    init?(parsing text: String)
    /// Text that parses back to this very value.
    var optionText: String { get }
}

extension OptionText {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(Self.self) cannot be \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(optionText)
    }
}
