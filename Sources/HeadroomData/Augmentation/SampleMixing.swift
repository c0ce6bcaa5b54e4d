/// MixUp (Zhang et al., 2018) and CutMix (Yun et al., 2019) as torchvision's `transforms.v2`
/// defines them — λ ~ Beta(α, α); MixUp blends the two images, CutMix pastes a box of the
/// partner whose side is √(1 − λ) of the image's, centred anywhere and clipped, and λ becomes
/// the share the sample keeps; with both, one is picked at even odds. As torchvision's, one
/// draw (λ, the choice, the box) serves a whole batch and each sample's partner is the one
/// before it — but the batch is the *optimiser step* (`BatchLoader.batch(_:step:)`), its draw
/// from a stream the step's first sample names: torchvision's batch is each GPU's, so its
/// pairs and draws change with the per-GPU batch; here micro-batches and processes change
/// neither. (A draw per sample, tried first, cost 13–17 points of top-1 against torchvision's
/// with TrivialAugmentWide on scikit-learn's digits; `bench/recipe.py`.)
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
