public import HeadroomData
public import HeadroomModels

/// `--normalize`: how a run's input is normalised. `auto` keeps ImageNet's statistics for 8-bit
/// RGB (what torchvision does, and what ImageNet weights expect) and measures every other set's
/// own, per band; `imagenet`, `data` and given values override it.
public enum NormalisationChoice: Sendable, Hashable, Codable, CustomStringConvertible {
    case auto
    case imagenet
    case data
    /// Per band, in the units the user typed: for 8-bit photos values ≤ 1 are read as
    /// PyTorch's [0, 1] pixels (0.485), larger ones as 0…255.
    case given(mean: [Double], std: [Double])

    /// "auto", "imagenet", "data" or "MEAN,…/STD,…"; nil when it is none of them.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "imagenet": self = .imagenet
        case "data": self = .data
        default:
            let halves = text.split(separator: "/", omittingEmptySubsequences: false)
            guard halves.count == 2 else { return nil }
            func numbers(_ half: Substring) -> [Double]? {
                let values = half.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !values.isEmpty, values.allSatisfy({ $0?.isFinite == true }) else { return nil }
                return values.map { $0! }
            }
            guard let mean = numbers(halves[0]), let std = numbers(halves[1]), mean.count == std.count, std.allSatisfy({ $0 > 0 })
            else { return nil }
            self = .given(mean: mean, std: std)
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .imagenet: "imagenet"
        case .data: "data"
        case let .given(mean, std):
            mean.map { "\($0)" }.joined(separator: ",") + "/" + std.map { "\($0)" }.joined(separator: ",")
        }
    }

    /// The normalisation for a set read as `format`; `measure` samples the training set, and
    /// is called only when the statistics come from the data.
    public func resolve(
        for format: InputFormat, measure: () throws -> BandStatistics
    ) throws -> InputNormalisation {
        switch self {
        case .auto where format.isRGB, .imagenet:
            return try Self.imageNet(bands: format.bands)
        case .auto, .data:
            let measured = try measure()
            return InputNormalisation(mean: measured.mean, std: measured.std, source: .data, sampledImages: measured.images)
        case let .given(mean, std):
            guard mean.count == format.bands else {
                throw TrainingSetupError(problems: [
                    "--normalize \(self) gives \(mean.count) mean\(mean.count == 1 ? "" : "s") where the input has \(format.bands) band\(format.bands == 1 ? "" : "s") (\(format))"
                ])
            }
            // PyTorch users type [0, 1] statistics; Headroom's photos arrive as 0…255.
            let scale = format.reading == .photo && (mean + std).allSatisfy { abs($0) <= 1 } ? 255.0 : 1.0
            return InputNormalisation(mean: mean.map { $0 * scale }, std: std.map { $0 * scale }, source: .given)
        }
    }

    /// ImageNet's statistics for RGB; for one grey band their averages (as a grey image's
    /// pixel is the three channels' common value); for other band counts there are none.
    static func imageNet(bands: Int) throws -> InputNormalisation {
        let rgb = InputNormalisation.imageNet
        switch bands {
        case 3: return rgb
        case 1:
            return InputNormalisation(mean: [rgb.mean.reduce(0, +) / 3], std: [rgb.std.reduce(0, +) / 3], source: .imagenet)
        default:
            throw TrainingSetupError(problems: [
                "--normalize imagenet has statistics for RGB (3 bands) or grey (1); the input has \(bands): use --normalize data or give MEAN,…/STD,…"
            ])
        }
    }
}
