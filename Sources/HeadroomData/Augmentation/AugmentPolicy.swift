/// torchvision's automatic augmentation policies, by the names its reference `train.py` takes
/// in `--auto-augment`: `ta_wide` (TrivialAugmentWide), `ra` (RandAugment, `--ra-magnitude`),
/// `imagenet`, `cifar10`, `svhn` (AutoAugment's learned policies) and `augmix` (AugMix,
/// `--augmix-severity`). Warps sample bilinearly, as the reference recipe passes them. Each
/// sample draws from its own stream, so batching changes nothing.
public enum AugmentPolicy: Sendable, Hashable, Codable {
    case trivialAugmentWide
    case randAugment(magnitude: Int)
    case autoAugment(AutoAugmentTable)
    case augMix(severity: Int)

    public enum AutoAugmentTable: String, Sendable, Hashable, Codable, CaseIterable { case imagenet, cifar10, svhn }

    public static let standardRandAugmentMagnitude = 9
    public static let standardAugMixSeverity = 3
    /// The reference recipe's `--interpolation bilinear`.
    static let interpolation = ImageOperation.Interpolation.bilinear

    /// A policy by its `--auto-augment` name; nil for a name torchvision's train.py does not take.
    public init?(
        name: String, randAugmentMagnitude: Int = standardRandAugmentMagnitude, augMixSeverity: Int = standardAugMixSeverity
    ) {
        switch name {
        case "ta_wide": self = .trivialAugmentWide
        case "ra": self = .randAugment(magnitude: randAugmentMagnitude)
        case "augmix": self = .augMix(severity: augMixSeverity)
        default:
            guard let table = AutoAugmentTable(rawValue: name) else { return nil }
            self = .autoAugment(table)
        }
    }

    public var name: String {
        switch self {
        case .trivialAugmentWide: "ta_wide"
        case let .randAugment(magnitude): "ra (magnitude \(magnitude))"
        case let .autoAugment(table): table.rawValue
        case let .augMix(severity): "augmix (severity \(severity))"
        }
    }

    /// Augments `pixels` (`bands` planes of `height`×`width`) in place, drawing from `random`.
    public func apply(to pixels: inout [UInt8], bands: Int, height: Int, width: Int, random: inout DeterministicRandom) {
        if case let .augMix(severity) = self {
            AugMix(severity: severity).apply(to: &pixels, bands: bands, height: height, width: width, random: &random)
            return
        }
        for operation in draw(height: height, width: width, random: &random) {
            operation.apply(to: &pixels, bands: bands, height: height, width: width, interpolation: Self.interpolation)
        }
    }

    /// The operations of one `height`×`width` sample, in order, drawn from `random` in
    /// torchvision's order of draws (AugMix, a blend of chains, has none: see `apply`).
    public func draw(height: Int, width: Int, random: inout DeterministicRandom) -> [ImageOperation] {
        switch self {
        case .trivialAugmentWide:
            let space = Space.wide
            let kind = space.kinds[random.nextInt(below: space.kinds.count)]
            let bin = kind.hasMagnitude ? random.nextInt(below: space.bins) : 0
            return [kind.operation(bin: bin, negative: kind.isSigned && random.nextInt(below: 2) == 1, space: space, height: height, width: width)]
        case let .randAugment(magnitude):
            let space = Space.rand
            return (0..<2).map { _ in
                let kind = space.kinds[random.nextInt(below: space.kinds.count)]
                return kind.operation(bin: magnitude, negative: kind.isSigned && random.nextInt(below: 2) == 1, space: space, height: height, width: width)
            }
        case let .autoAugment(table):
            // torchvision draws the sub-policy, both probabilities, then both signs, before applying.
            let policy = table.subPolicies[random.nextInt(below: table.subPolicies.count)]
            let chances = [random.nextUnitInterval(), random.nextUnitInterval()]
            let signs = [random.nextInt(below: 2), random.nextInt(below: 2)]
            return zip(policy.steps, zip(chances, signs)).compactMap { step, draw in
                guard draw.0 <= step.probability else { return nil }
                return step.kind.operation(
                    bin: step.bin ?? 0, negative: step.kind.isSigned && draw.1 == 0, space: .autoAugment, height: height, width: width)
            }
        case .augMix:
            return []
        }
    }

    /// The operations in the order of torchvision's augmentation spaces.
    enum Kind: CaseIterable {
        case identity, shearX, shearY, translateX, translateY, rotate, brightness, color, contrast, sharpness, posterize, solarize
        case autoContrast, equalize, invert

        var hasMagnitude: Bool { ![.identity, .autoContrast, .equalize, .invert].contains(self) }
        var isSigned: Bool { [.shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness].contains(self) }

        /// The operation at `bin` of `space`'s, negated when `negative`.
        func operation(bin: Int, negative: Bool, space: Space, height: Int, width: Int) -> ImageOperation {
            let sign = negative ? -1.0 : 1.0
            let last = Double(space.bins - 1)
            func linear(_ top: Double) -> Double { sign * top * Double(bin) / last }
            let translate = space.translateShare
            switch self {
            case .identity: return .identity
            case .shearX: return .shearX(linear(space.shear))
            case .shearY: return .shearY(linear(space.shear))
            case .translateX: return .translateX(linear(translate.isNaN ? 32 : translate * Double(width)))
            case .translateY: return .translateY(linear(translate.isNaN ? 32 : translate * Double(height)))
            case .rotate: return .rotate(linear(space.rotate))
            case .brightness: return .brightness(1 + linear(space.enhance))
            case .color: return .color(1 + linear(space.enhance))
            case .contrast: return .contrast(1 + linear(space.enhance))
            case .sharpness: return .sharpness(1 + linear(space.enhance))
            case .posterize:
                // base − round(bin / ((bins − 1) / span)): torchvision's bits, rounding half to even.
                return .posterize(space.posterizeBase - Int((Double(bin) / (last / Double(space.posterizeSpan))).rounded(.toNearestOrEven)))
            case .solarize: return .solarize(255 - 255 * Double(bin) / last)
            case .autoContrast: return .autoContrast
            case .equalize: return .equalize
            case .invert: return .invert
            }
        }
    }

    /// Each policy's augmentation space: its operations in order, its bins and its strongest values.
    struct Space {
        var kinds: [Kind]
        var bins: Int
        var shear: Double
        /// The largest shift as a share of the side (TrivialAugmentWide's is 32 pixels: see `wide`).
        var translateShare: Double  // NaN: a fixed 32 px
        var rotate: Double
        var enhance: Double
        var posterizeBase: Int
        var posterizeSpan: Int

        static let common: [Kind] = [.identity, .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness, .posterize, .solarize, .autoContrast, .equalize]
        static let wide = Space(kinds: common, bins: 31, shear: 0.99, translateShare: .nan, rotate: 135, enhance: 0.99, posterizeBase: 8, posterizeSpan: 6)
        static let rand = Space(kinds: common, bins: 31, shear: 0.3, translateShare: 150.0 / 331, rotate: 30, enhance: 0.9, posterizeBase: 8, posterizeSpan: 4)
        static let autoAugment = Space(
            kinds: Array(common.dropFirst()) + [.invert], bins: 10, shear: 0.3, translateShare: 150.0 / 331, rotate: 30, enhance: 0.9,
            posterizeBase: 8, posterizeSpan: 4)
        static let augMix = Space(
            kinds: [.shearX, .shearY, .translateX, .translateY, .rotate, .posterize, .solarize, .autoContrast, .equalize, .brightness, .color, .contrast, .sharpness],
            bins: 10, shear: 0.3, translateShare: 1.0 / 3, rotate: 30, enhance: 0.9, posterizeBase: 4, posterizeSpan: 4)
    }
}
