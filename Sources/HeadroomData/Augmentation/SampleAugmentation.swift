public import Torch

/// The recipe's augmentations after a sample's transform: random erasing, then MixUp or
/// CutMix with a partner — torchvision's order (RandomErasing ends the sample's transform;
/// MixUp/CutMix act on the batch after it). Every draw comes from the sample's own streams,
/// keyed by (seed, epoch, sample index), one for erasing and one for mixing.
public struct SampleAugmentation: Sendable, Hashable {
    /// TrivialAugmentWide or RandAugment, after the crop and flip, on 8-bit pixels.
    public var policy: AugmentPolicy?
    public var erasing: RandomErasing?
    public var mixing: SampleMixing
    /// What an erased pixel becomes, per band, in the loader's units: the normalisation's mean,
    /// so that it is 0 after normalisation as in torchvision.
    public var fill: [Double]

    public init(policy: AugmentPolicy? = nil, erasing: RandomErasing? = nil, mixing: SampleMixing = SampleMixing(), fill: [Double]) {
        self.policy = policy
        self.erasing = erasing
        self.mixing = mixing
        self.fill = fill
    }

    public var isActive: Bool { policy != nil || (erasing?.probability ?? 0) > 0 || mixing.isActive }

    /// The batch's element type: a blend or an erased mean is not a whole uint8 value, so
    /// MixUp and erasing make float32 batches (4× the loader's bytes); CutMix alone pastes
    /// pixels and keeps the set's type.
    public func batchType(for format: InputFormat) -> DType {
        (erasing?.probability ?? 0) > 0 || mixing.mixupAlpha > 0 ? .float32 : format.batchType
    }

    // Salts that make the erasing and mixing streams unrelated to the transform's.
    static let erasingSalt: UInt64 = 0x6572_6173_696E_6721  // "erasing!"
    static let mixingSalt: UInt64 = 0x6D69_7869_6E67_2121  // "mixing!!"
    static let policySalt: UInt64 = 0x706F_6C69_6379_2121  // "policy!!"
    static let stepMixingSalt: UInt64 = 0x7374_6570_6D69_7821  // "stepmix!"

    public static func policyRandom(seed: UInt64, epoch: Int, index: Int) -> DeterministicRandom {
        DeterministicRandom(seed: seed ^ policySalt, epoch: epoch, index: index)
    }

    /// `pixels` ([bands, h, w], uint8) augmented by the policy, drawing from `random`.
    func applyPolicy(to pixels: Tensor, random: inout DeterministicRandom) throws(TorchError) -> Tensor {
        guard let policy, pixels.dtype == .uint8 else { return pixels }
        let (bands, height, width) = (pixels.shape[0], pixels.shape[1], pixels.shape[2])
        var values = try pixels.contiguous().bytes()
        policy.apply(to: &values, bands: bands, height: height, width: width, random: &random)
        return try Tensor(values, shape: [bands, height, width])
    }

    public static func erasingRandom(seed: UInt64, epoch: Int, index: Int) -> DeterministicRandom {
        DeterministicRandom(seed: seed ^ erasingSalt, epoch: epoch, index: index)
    }

    public static func mixingRandom(seed: UInt64, epoch: Int, index: Int) -> DeterministicRandom {
        DeterministicRandom(seed: seed ^ mixingSalt, epoch: epoch, index: index)
    }

    /// The stream of one optimiser step's mix, named by the step's first sample in epoch order.
    public static func stepMixingRandom(seed: UInt64, epoch: Int, firstSample: Int) -> DeterministicRandom {
        DeterministicRandom(seed: seed ^ stepMixingSalt, epoch: epoch, index: firstSample)
    }

    /// Erases `pixels` ([bands, h, w], float) in place when the sample's erasing stream says so.
    func erase(_ pixels: Tensor, random: inout DeterministicRandom) throws(TorchError) {
        guard let erasing, let box = erasing.box(height: pixels.shape[1], width: pixels.shape[2], random: &random) else { return }
        let region = try pixels.slice(dim: 1, box.top..<(box.top + box.height)).slice(dim: 2, box.left..<(box.left + box.width))
        try region.copyInPlace(from: Tensor(fill.map(Float.init), shape: [fill.count, 1, 1]).to(dtype: pixels.dtype))
    }

    /// Mixes `partner` into `pixels` (both [bands, h, w]) as `mix` says.
    static func blend(_ pixels: Tensor, with partner: Tensor, as mix: SampleMixing.Mix) throws(TorchError) {
        switch mix {
        case let .mixup(keeps):
            try pixels *= keeps
            try pixels.addInPlace(partner, alpha: 1 - keeps)
        case let .cutmix(box, _):
            guard box.height > 0, box.width > 0 else { return }
            let rows = box.top..<(box.top + box.height)
            let columns = box.left..<(box.left + box.width)
            try pixels.slice(dim: 1, rows).slice(dim: 2, columns).copyInPlace(from: partner.slice(dim: 1, rows).slice(dim: 2, columns))
        }
    }
}
