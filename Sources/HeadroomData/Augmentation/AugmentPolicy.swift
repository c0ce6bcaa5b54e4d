/// torchvision's automatic augmentation policies, as its reference recipe names them in
/// `--auto-augment`: `ta_wide` (TrivialAugmentWide: one operation, its strength drawn from 31
/// bins) and `ra` (RandAugment: `--ra-magnitude` of 31 bins, two operations). Each sample draws
/// from its own stream, so batching changes nothing.
public enum AugmentPolicy: Sendable, Hashable, Codable {
    case trivialAugmentWide
    case randAugment(magnitude: Int)

    /// torchvision's defaults: 31 bins, RandAugment's 2 operations and magnitude 9.
    static let bins = 31
    static let randAugmentOperations = 2
    public static let standardRandAugmentMagnitude = 9
    static let kinds = Kind.allCases

    /// `ta_wide` or `ra` (with RandAugment's magnitude); nil for anything else.
    public init?(name: String, randAugmentMagnitude: Int = standardRandAugmentMagnitude) {
        switch name {
        case "ta_wide": self = .trivialAugmentWide
        case "ra": self = .randAugment(magnitude: randAugmentMagnitude)
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .trivialAugmentWide: "ta_wide"
        case let .randAugment(magnitude): "ra (magnitude \(magnitude))"
        }
    }

    /// The operations for one `height`×`width` sample, in order, drawn from `random` as
    /// torchvision draws them: an operation, then its bin (TrivialAugmentWide), then the sign.
    public func draw(height: Int, width: Int, random: inout DeterministicRandom) -> [ImageOperation] {
        switch self {
        case .trivialAugmentWide:
            let kind = Self.kinds[random.nextInt(below: Self.kinds.count)]
            let bin = kind.hasMagnitude ? random.nextInt(below: Self.bins) : 0
            return [kind.operation(bin: bin, negative: kind.isSigned && random.nextInt(below: 2) == 1, space: .wide(height: height, width: width))]
        case let .randAugment(magnitude):
            return (0..<Self.randAugmentOperations).map { _ in
                let kind = Self.kinds[random.nextInt(below: Self.kinds.count)]
                return kind.operation(bin: magnitude, negative: kind.isSigned && random.nextInt(below: 2) == 1, space: .rand(height: height, width: width))
            }
        }
    }

    /// The operations in torchvision's order of its augmentation space.
    enum Kind: CaseIterable {
        case identity, shearX, shearY, translateX, translateY, rotate, brightness, color, contrast, sharpness, posterize, solarize
        case autoContrast, equalize

        var hasMagnitude: Bool { ![.identity, .autoContrast, .equalize].contains(self) }
        var isSigned: Bool { [.shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness].contains(self) }

        /// The operation at `bin` of `space`'s 31, negated when `negative`.
        func operation(bin: Int, negative: Bool, space: Space) -> ImageOperation {
            let sign = negative ? -1.0 : 1.0
            func linear(_ top: Double) -> Double { sign * top * Double(bin) / Double(AugmentPolicy.bins - 1) }
            let maxima = space.maxima
            switch self {
            case .identity: return .identity
            case .shearX: return .shearX(linear(maxima.shear))
            case .shearY: return .shearY(linear(maxima.shear))
            case .translateX: return .translateX(linear(maxima.translateX))
            case .translateY: return .translateY(linear(maxima.translateY))
            case .rotate: return .rotate(linear(maxima.rotate))
            case .brightness: return .brightness(1 + linear(maxima.enhance))
            case .color: return .color(1 + linear(maxima.enhance))
            case .contrast: return .contrast(1 + linear(maxima.enhance))
            case .sharpness: return .sharpness(1 + linear(maxima.enhance))
            case .posterize:
                // 8 − round(bin / ((bins − 1) / span)): torchvision's bits, from 8 down to 8 − span.
                let bits = 8 - Int((Double(bin) / (Double(AugmentPolicy.bins - 1) / Double(maxima.posterizeSpan))).rounded(.toNearestOrEven))
                return .posterize(bits)
            case .solarize: return .solarize(255 - 255 * Double(bin) / Double(AugmentPolicy.bins - 1))
            case .autoContrast: return .autoContrast
            case .equalize: return .equalize
            }
        }
    }

    /// The strongest value of each operation: TrivialAugmentWide's wide space, or RandAugment's.
    enum Space {
        case wide(height: Int, width: Int)
        case rand(height: Int, width: Int)

        var maxima: (shear: Double, translateX: Double, translateY: Double, rotate: Double, enhance: Double, posterizeSpan: Int) {
            switch self {
            case .wide: (0.99, 32, 32, 135, 0.99, 6)
            case let .rand(height, width): (0.3, 150.0 / 331 * Double(width), 150.0 / 331 * Double(height), 30, 0.9, 4)
            }
        }
    }
}
