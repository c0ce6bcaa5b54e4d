public import HeadroomModels
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

    /// The rungs climbed for images `inputRows` tall, cheapest first: deeper streaming
    /// shrinks what is held whole (the streamed output and the stages after it), shorter
    /// bands shrink what a band holds; both cost compute.
    package func ladder(inputRows: Int) -> [ResNet.Streaming] {
        switch self {
        case .off: []
        case .auto, .on: Self.rungs.map { $0.streaming(inputRows: inputRows) }
        case .through(let segment): Self.bandHeights.indices.map { BandedRung(through: segment, height: $0).streaming(inputRows: inputRows) }
        }
    }

    /// The rungs of a pass without gradients (validation, `evaluate`, `predict`): the same and,
    /// under `auto` and `on`, one more through layer4 in the shortest bands. Evaluation-mode
    /// BatchNorm reads its running statistics, so a band needs nothing of the others and
    /// streaming costs only the halos' recompute.
    package func forwardLadder(inputRows: Int) -> [ResNet.Streaming] {
        switch self {
        case .auto, .on: ladder(inputRows: inputRows) + [BandedRung(through: .layer4, height: 2).streaming(inputRows: inputRows)]
        case .off, .through: ladder(inputRows: inputRows)
        }
    }

    /// The rung after `current` on `ladder` (the first when nothing streams yet), nil at the top.
    package static func rung(after current: ResNet.Streaming?, on ladder: [ResNet.Streaming]) -> ResNet.Streaming? {
        let next = current.flatMap { ladder.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
        return next < ladder.count ? ladder[next] : nil
    }

    /// The depths training may stream through, the shallowest (cheapest) first.
    package var depths: [ResNet.Segment] {
        switch self {
        case .off: []
        case .auto, .on: Array(Set(Self.rungs.map(\.through))).sorted()
        case .through(let segment): [segment]
        }
    }

    /// The band counts the planner chooses from for images `inputRows` tall: from two (as
    /// tall as memory allows) to the ladder's shortest bands.
    package static func bandCounts(inputRows: Int) -> ClosedRange<Int> {
        2...BandedRung(through: .layer1, height: bandHeights.count - 1).streaming(inputRows: inputRows).bands
    }

    /// What to try after `current` ran out of memory in training, nil at the top: the same
    /// bands holding nothing, then twice the bands (up to the shortest), then one stage
    /// deeper in the ladder's tallest bands. (Nil `current`: the ladder's first rung.)
    package func rung(after current: ResNet.Streaming?, inputRows: Int) -> ResNet.Streaming? {
        guard let current else { return ladder(inputRows: inputRows).first }
        if current.holdsStages { return ResNet.Streaming(through: current.through, bands: current.bands) }
        let most = Self.bandCounts(inputRows: inputRows).upperBound
        if current.bands < most { return ResNet.Streaming(through: current.through, bands: min(most, 2 * current.bands)) }
        guard let deeper = depths.first(where: { $0 > current.through }) else { return nil }
        return BandedRung(through: deeper, height: 0).streaming(inputRows: inputRows)
    }

    /// A rung by its band height rather than its band count (see
    /// ``ResNet/Streaming/init(through:rowsPerBand:minimumBands:inputRows:)``).
    struct BandedRung {
        let through: ResNet.Segment
        /// Which of ``bandHeights``.
        let height: Int

        func streaming(inputRows: Int) -> ResNet.Streaming {
            let (rows, minimum) = StreamingChoice.bandHeights[height]
            return ResNet.Streaming(through: through, rowsPerBand: rows, minimumBands: minimum, inputRows: inputRows)
        }
    }

    /// Band heights, tallest first, with the least number of bands each gives a small image.
    static let bandHeights: [(rows: Int, minimum: Int)] = [(512, 8), (256, 16), (128, 32)]

    static let rungs: [BandedRung] = [
        .init(through: .layer1, height: 0), .init(through: .layer2, height: 0), .init(through: .layer2, height: 1),
        .init(through: .layer3, height: 1), .init(through: .layer3, height: 2),
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
