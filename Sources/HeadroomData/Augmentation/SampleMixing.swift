/// MixUp (Zhang et al., 2018) and CutMix (Yun et al., 2019) as torchvision's `transforms.v2`
/// defines them — λ ~ Beta(α, α); MixUp blends the two images, CutMix pastes a box of the
/// partner whose side is √(1 − λ) of the image's, centred anywhere and clipped, and λ becomes
/// the share the sample keeps. Two choices differ from torchvision's, both for the one rule:
/// λ and the choice between the two (even odds with both on) are drawn per sample from its own
/// stream, not per batch, and the partner is the sample before it in its *optimiser step*
/// (`BatchLoader.batch(_:step:)`) — torchvision rolls each GPU's batch by one, so its pairs
/// change with the per-GPU batch; here micro-batches and processes change no pair.
public struct SampleMixing: Sendable, Hashable, Codable {
    /// MixUp's α (0: off).
    public var mixupAlpha: Double
    /// CutMix's α (0: off).
    public var cutmixAlpha: Double

    public init(mixupAlpha: Double = 0, cutmixAlpha: Double = 0) {
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
    }

    public var isActive: Bool { mixupAlpha > 0 || cutmixAlpha > 0 }

    /// One sample's mix: how much of itself it keeps (`λ`) and, for CutMix, the partner's box.
    public enum Mix: Sendable, Hashable {
        case mixup(keeps: Double)
        case cutmix(box: CropBox, keeps: Double)

        /// The sample's share of the loss: λ (CutMix's, after clipping the box).
        public var keeps: Double {
            switch self {
            case let .mixup(keeps), let .cutmix(_, keeps): keeps
            }
        }
    }

    /// The mix of one `height`×`width` sample, drawn from `random` (the sample's own mixing stream).
    public func draw(height: Int, width: Int, random: inout DeterministicRandom) -> Mix {
        let usesCutMix = mixupAlpha > 0 && cutmixAlpha > 0 ? random.nextUnitInterval() < 0.5 : cutmixAlpha > 0
        let alpha = usesCutMix ? cutmixAlpha : mixupAlpha
        let lambda = random.nextBeta(alpha, alpha)
        guard usesCutMix else { return .mixup(keeps: lambda) }
        let centreX = random.nextInt(below: width)
        let centreY = random.nextInt(below: height)
        let half = 0.5 * (1 - lambda).squareRoot()
        let halfWidth = Int(half * Double(width))
        let halfHeight = Int(half * Double(height))
        let left = max(0, centreX - halfWidth)
        let top = max(0, centreY - halfHeight)
        let right = min(width, centreX + halfWidth)
        let bottom = min(height, centreY + halfHeight)
        let box = CropBox(top: top, left: left, height: bottom - top, width: right - left)
        return .cutmix(box: box, keeps: 1 - Double(box.height * box.width) / Double(height * width))
    }
}
