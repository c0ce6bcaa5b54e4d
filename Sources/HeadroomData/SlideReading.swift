/// How a set of whole slides becomes what the network sees: at which resolution, where training
/// regions are taken, and what evaluation looks at. Saved with checkpoints and exports, so that
/// `evaluate` and `predict` read a slide as training did.
public struct SlideReading: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The resolution the network sees.
    public enum View: Sendable, Hashable, Codable, CustomStringConvertible {
        /// `--slide-level N`: a level of the pyramid as it is (0 is the scan's full resolution).
        case level(Int)
        /// `--slide-mpp M`: microns per pixel; read from the nearest finer level, resized to it.
        case micronsPerPixel(Double)

        public var isLevel: Bool { if case .level = self { true } else { false } }

        // Saved as {"level": 2} or {"mpp": 0.5}: what a reader of a checkpoint's metadata expects.
        private enum CodingKeys: String, CodingKey { case level, mpp }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let mpp = try container.decodeIfPresent(Double.self, forKey: .mpp) {
                self = .micronsPerPixel(mpp)
            } else {
                self = .level(try container.decode(Int.self, forKey: .level))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case let .level(level): try container.encode(level, forKey: .level)
            case let .micronsPerPixel(mpp): try container.encode(mpp, forKey: .mpp)
            }
        }

        public var description: String {
            switch self {
            case let .level(level): "level \(level)"
            case let .micronsPerPixel(mpp): "\(mpp) µm/px"
            }
        }
    }

    /// What validation, `evaluate` and `predict` take of a slide.
    public enum Evaluation: String, Sendable, Hashable, Codable, CaseIterable {
        /// A resolution² region at the centre of the tissue (of the slide, with no mask).
        case center
        /// The whole slide at the view, shrunk to fit resolution² if larger, on the background colour.
        case whole
    }

    public var view: View
    /// Whether training regions are centred on tissue, found in the slide's thumbnail.
    public var tissueMask: Bool
    public var evaluation: Evaluation

    public init(view: View = .level(0), tissueMask: Bool = true, evaluation: Evaluation = .center) {
        self.view = view
        self.tissueMask = tissueMask
        self.evaluation = evaluation
    }

    public var description: String {
        "\(view), training regions \(tissueMask ? "on tissue" : "anywhere"), evaluation \(evaluation == .center ? "centre region" : "whole slide")"
    }

    /// `--slide-mpp 0.5`: a positive number of microns per pixel.
    public static func micronsPerPixel(parsing text: String) -> Double? {
        guard let value = Double(text), value.isFinite, value > 0, value < 1e6 else { return nil }
        return value
    }
}
