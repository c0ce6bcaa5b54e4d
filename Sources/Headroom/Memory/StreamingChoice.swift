/// Whether the start of the network runs in bands (`--streaming`), the memory ladder's top
/// rung: every map of the streamed part is computed a band of rows at a time, so memory
/// hardly grows with the image, at a compute price that grows with the streamed depth.
public enum StreamingChoice: Sendable, Equatable, Hashable {
    /// With `--activation-checkpointing auto`: only when not one sample fits with every
    /// segment checkpointed.
    case auto
    case off
    /// Always: the cheapest streaming rung that fits.
    case on
    /// Always through this segment; the planner picks the bands.
    case through(ResNet.Segment)

    /// "auto", "off", "on" or a segment name ("layer2": stream through layer2).
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "off", "none": self = .off
        case "on": self = .on
        default:
            guard let segment = ResNet.Segment(rawValue: text.lowercased()) else { return nil }
            self = .through(segment)
        }
    }

    /// Whether streaming is asked for whatever else fits (`on` or a segment).
    public var forcesStreaming: Bool {
        switch self {
        case .on, .through: true
        case .auto, .off: false
        }
    }

    /// The rungs climbed, cheapest first: deeper streaming shrinks what is held whole (the
    /// streamed output and the stages after it), more bands shrink what a band holds; both
    /// cost compute.
    var ladder: [ResNet.Streaming] {
        switch self {
        case .off: []
        case .auto, .on: Self.rungs
        case .through(let segment): [8, 16, 32].map { ResNet.Streaming(through: segment, bands: $0) }
        }
    }

    static let rungs: [ResNet.Streaming] = [
        .init(through: .layer1, bands: 8), .init(through: .layer2, bands: 8), .init(through: .layer2, bands: 16),
        .init(through: .layer3, bands: 16), .init(through: .layer3, bands: 32),
    ]
}

extension StreamingChoice: CustomStringConvertible, OptionText {
    public var description: String {
        switch self {
        case .auto: "auto"
        case .off: "off"
        case .on: "on"
        case .through(let segment): segment.rawValue
        }
    }

    public var optionText: String { description }
}
