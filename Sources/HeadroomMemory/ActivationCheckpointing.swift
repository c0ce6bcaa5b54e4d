public import HeadroomExecution
public import HeadroomModels
/// Whether the model recomputes activations in backward instead of keeping them: the rung
/// of the memory ladder after the micro-batch (`--activation-checkpointing`).
public enum ActivationCheckpointing: Sendable, Equatable, Hashable {
    /// The planner decides per resolution: none while the largest micro-batch that fits
    /// reaches the floor, else the fewest segments that reach it (or that fit at all).
    case auto
    case off
    /// These segments, at every resolution ("on" is all of them).
    case segments(Set<ResNet.Segment>)

    /// "auto", "off", "on" (every segment) or a list such as "stem,layer1".
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "off", "none": self = .off
        case "on", "all": self = .segments(Set(ResNet.Segment.allCases))
        default:
            let names = text.lowercased().split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let segments = names.compactMap(ResNet.Segment.init(rawValue:))
            guard !names.isEmpty, segments.count == names.count else { return nil }
            self = .segments(Set(segments))
        }
    }

    /// The ladder `auto` climbs, cheapest first: the full-resolution parts first, since
    /// they hold the most activation bytes per unit of compute recomputed.
    static let ladder: [Set<ResNet.Segment>] = (1...ResNet.Segment.allCases.count).map {
        Set(ResNet.Segment.allCases.prefix($0))
    }
}

extension ActivationCheckpointing: CustomStringConvertible, OptionText {
    public var description: String {
        switch self {
        case .auto: "auto"
        case .off: "off"
        case .segments(let segments): segments.sorted().map(\.rawValue).joined(separator: ",")
        }
    }

    public var optionText: String { description }
}
