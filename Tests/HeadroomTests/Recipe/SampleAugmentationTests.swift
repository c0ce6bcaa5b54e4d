import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData

/// Random erasing and MixUp/CutMix in the loader: what each does to a sample, checked against
/// the sample and its partner loaded without it, and that nothing depends on how a step's
/// samples are cut into batches.
@Suite("Sample augmentation", .serialized)
struct SampleAugmentationTests {
    let directory: TemporaryDirectory
    let samples: LabeledSamples
    let resolution = 32

    init() throws {
        directory = try TemporaryDirectory()
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "squares", "stripes"]
        dataset.trainPerClass = 4
        dataset.validationPerClass = 1
        dataset.width = 48
        dataset.height = 40
        let (train, _) = try dataset.write(to: URL(fileURLWithPath: directory.path))
        samples = try ImageFolder(root: train.path).scan()
    }

    func loader(_ augmentation: SampleAugmentation?, workers: Int = 2) -> BatchLoader {
        let loader = BatchLoader(samples: samples, transform: .standardTraining, seed: 5, workers: workers)
        loader.augmentation = augmentation
        return loader
    }

    /// The samples as training sees them without mixing, as float32 [bands, h, w] each.
    func plain(_ indices: [Int], epoch: Int) throws -> [Tensor] {
        let batch = try loader(nil).batch(indices, resolution: resolution, epoch: epoch)
        return try (0..<indices.count).map { try batch.images.select(dim: 0, index: $0).to(dtype: .float32) }
    }

    static let fill = [100.0, 120.0, 140.0]

    @Test func aStepsSamplesAreTheSameHoweverTheyAreBatched() throws {
        let augmentation = SampleAugmentation(
            policy: .trivialAugmentWide, erasing: RandomErasing(probability: 0.5), mixing: SampleMixing(mixupAlpha: 0.2, cutmixAlpha: 1),
            fill: Self.fill)
        let indices = [7, 2, 11, 0, 5, 9, 3, 1]
        let whole = try loader(augmentation, workers: 2).batch(indices, resolution: resolution, epoch: 3)
        let one = loader(augmentation, workers: 1)
        let parts = try [0..<3, 3..<4, 4..<8].map { try one.batch(Array(indices[$0]), resolution: resolution, epoch: 3, step: indices) }
        #expect(whole.images.dtype == .float32)
        #expect(try whole.images.bytes() == Tensor.cat(parts.map(\.images)).bytes())
        #expect(try whole.partnerLabels?.array(of: Int64.self) == Tensor.cat(parts.compactMap(\.partnerLabels)).array(of: Int64.self))
        #expect(try whole.keeps?.array(of: Double.self) == Tensor.cat(parts.compactMap(\.keeps)).array(of: Double.self))
        #expect(whole.partnerIndices == parts.flatMap { $0.partnerIndices ?? [] })
        // Each sample's partner is the one before it in the step (torchvision's roll by one),
        // and the step's mix is one draw, named by the step's first sample.
        #expect(whole.partnerIndices == [1, 7, 2, 11, 0, 5, 9, 3])
        #expect(try Set(#require(whole.keeps).array(of: Double.self)).count == 1)
        let later = try one.batch([2, 11, 0], resolution: resolution, epoch: 3, step: [5, 2, 11, 0])
        #expect(try later.keeps?.array(of: Double.self).first != whole.keeps?.array(of: Double.self).first, "another step, another draw")
        // The partner's label is the partner's class.
        let partnerClasses = try #require(whole.partnerIndices).map { Int64(samples.samples[$0].classIndex) }
        #expect(try whole.partnerLabels?.array(of: Int64.self) == partnerClasses)
    }

    @Test func aPartnerThatCannotBeDecodedIsReplacedFromTheSamplesStream() throws {
        let mixing = SampleAugmentation(mixing: SampleMixing(mixupAlpha: 0.4), fill: Self.fill)
        let indices = [4, 8, 1]
        let broken = samples.samples[8].path
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: broken))
        let loader = loader(mixing)
        // Sample 1's partner (8) cannot be read; 8 itself is replaced as any bad sample is.
        let batch = try loader.batch(indices, resolution: resolution, epoch: 0, step: [2, 4, 8, 1])
        let partners = try #require(batch.partnerIndices)
        #expect(partners[0] == 2)
        #expect(partners[2] != 8, "a partner drawn again from the sample's stream")
        #expect(loader.badSamples.map(\.index) == [8])
        #expect(batch.sampleIndices[1] != 8)
    }

    @Test func mixupBlendsEachSampleWithItsPartnerAsThisEpochSeesIt() throws {
        let mixing = SampleAugmentation(mixing: SampleMixing(mixupAlpha: 0.4), fill: Self.fill)
        let indices = Array(0..<12)
        let batch = try loader(mixing).batch(indices, resolution: resolution, epoch: 1)
        let keeps = try #require(batch.keeps).array(of: Double.self)
        let partners = try #require(batch.partnerIndices)
        let own = try plain(indices, epoch: 1)
        let theirs = try plain(partners, epoch: 1)
        // One λ for the step, as torchvision draws one for a batch.
        #expect(Set(keeps).count == 1 && keeps[0] > 0 && keeps[0] < 1, "\(keeps)")
        for slot in indices {
            let expected = try own[slot] * keeps[slot] + theirs[slot] * (1 - keeps[slot])
            expectClose(try batch.images.select(dim: 0, index: slot), expected, within: .rounding(.float32, operations: 3))
        }
    }

    @Test func cutmixPastesThePartnersBoxAndKeepsTheRest() throws {
        let mixing = SampleAugmentation(mixing: SampleMixing(cutmixAlpha: 1), fill: Self.fill)
        let indices = Array(0..<12)
        let loader = loader(mixing)
        let batch = try loader.batch(indices, resolution: resolution, epoch: 2)
        #expect(batch.images.dtype == .uint8, "CutMix alone pastes whole pixels")
        let keeps = try #require(batch.keeps).array(of: Double.self)
        let partners = try #require(batch.partnerIndices)
        let own = try plain(indices, epoch: 2)
        let theirs = try plain(partners, epoch: 2)
        var pasted = 0
        for slot in indices {
            let image = try batch.images.select(dim: 0, index: slot).to(dtype: .float32)
            // Pixels whose every band is the partner's, or the sample's own.
            let fromPartner = try image.eq(theirs[slot]).to(dtype: .float32).sum(dims: [0]).eq(3.0)
            let fromSelf = try image.eq(own[slot]).to(dtype: .float32).sum(dims: [0]).eq(3.0)
            let either = try fromPartner.logicalOr(fromSelf).to(dtype: .float32).sum().item()
            #expect(either == Double(resolution * resolution), "every pixel is the sample's or the partner's")
            // 1 − λ is the box's share: at least the pixels that can only be the partner's.
            let onlyPartner = try fromPartner.logicalAnd(fromSelf.logicalNot()).to(dtype: .float32).sum().item()
            #expect(1 - keeps[slot] >= onlyPartner / Double(resolution * resolution) - 1e-12)
            if keeps[slot] < 1 { pasted += 1 }
        }
        // One box for the step: every sample has its partner's box pasted.
        #expect(Set(keeps).count == 1 && pasted == indices.count, "\(keeps)")
    }

    @Test func aPolicyAppliesEachSamplesOwnDrawToItsCrop() throws {
        for policy in [AugmentPolicy.trivialAugmentWide, .randAugment(magnitude: 9), .autoAugment(.imagenet), .augMix(severity: 3)] {
            let indices = Array(0..<12)
            let batch = try loader(SampleAugmentation(policy: policy, fill: Self.fill)).batch(indices, resolution: resolution, epoch: 6)
            #expect(batch.images.dtype == .uint8, "a policy keeps 8-bit pixels")
            let plain = try loader(nil).batch(indices, resolution: resolution, epoch: 6)
            var changed = 0
            for slot in indices {
                var random = SampleAugmentation.policyRandom(seed: 5, epoch: 6, index: slot)
                var expected = try plain.images.select(dim: 0, index: slot).contiguous().bytes()
                let original = expected
                policy.apply(to: &expected, bands: 3, height: resolution, width: resolution, random: &random)
                #expect(try batch.images.select(dim: 0, index: slot).contiguous().bytes() == expected)
                if expected != original { changed += 1 }
            }
            #expect(changed >= 6, "\(policy.name) changed \(changed) of 12")
        }
    }

    @Test func erasingFillsARectangleWithTheNormalisationMean() throws {
        let erasing = SampleAugmentation(erasing: RandomErasing(probability: 1), fill: Self.fill)
        let indices = Array(0..<12)
        let batch = try loader(erasing).batch(indices, resolution: resolution, epoch: 0)
        let own = try plain(indices, epoch: 0)
        for slot in indices {
            var random = SampleAugmentation.erasingRandom(seed: 5, epoch: 0, index: slot)
            let box = try #require(RandomErasing(probability: 1).box(height: resolution, width: resolution, random: &random))
            let image = try batch.images.select(dim: 0, index: slot)
            let region = try image.slice(dim: 1, box.top..<(box.top + box.height)).slice(dim: 2, box.left..<(box.left + box.width))
            for band in 0..<3 {
                let values = try region.select(dim: 0, index: band).flattened().array(of: Float.self)
                #expect(values.allSatisfy { $0 == Float(Self.fill[band]) })
            }
            // Outside the box the sample is untouched.
            let changed = try image.ne(own[slot]).to(dtype: .float32).sum().item()
            #expect(changed <= Double(3 * box.height * box.width))
        }
    }
}

/// The draws behind the recipe's augmentations, against their definitions.
@Suite struct AugmentationDrawTests {
    @Test func betaAndGammaDrawsHaveTheirMoments() {
        var random = DeterministicRandom(seed: 42)
        let count = 40_000
        for alpha in [0.2, 1.0, 2.5] {
            let draws = (0..<count).map { _ in random.nextBeta(alpha, alpha) }
            let mean = draws.reduce(0, +) / Double(count)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count)
            let expectedVariance = 1 / (4 * (2 * alpha + 1))
            #expect(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
            // Five standard errors of the mean (σ² = expectedVariance).
            #expect(abs(mean - 0.5) < 5 * (expectedVariance / Double(count)).squareRoot(), "Beta(\(alpha)) mean \(mean)")
            #expect(abs(variance - expectedVariance) < 0.03 * expectedVariance + 0.002, "Beta(\(alpha)) variance \(variance)")
            let gammas = (0..<count).map { _ in random.nextGamma(shape: alpha) }
            let gammaMean = gammas.reduce(0, +) / Double(count)
            #expect(abs(gammaMean - alpha) < 5 * (alpha / Double(count)).squareRoot(), "Gamma(\(alpha)) mean \(gammaMean)")
        }
        // A tiny α gives 0s and 1s, never NaN from 0 / 0.
        let tiny = (0..<1000).map { _ in random.nextBeta(0.01, 0.01) }
        #expect(tiny.allSatisfy { $0.isFinite })
        #expect(tiny.filter { $0 < 0.01 || $0 > 0.99 }.count > 900)
    }

    @Test func erasingBoxesFollowTorchvisionsRanges() {
        let erasing = RandomErasing(probability: 0.3)
        var random = DeterministicRandom(seed: 1)
        var erased = 0
        let trials = 4000
        for _ in 0..<trials {
            guard let box = erasing.box(height: 64, width: 48, random: &random) else { continue }
            erased += 1
            #expect(box.isInside(ImageSize(width: 48, height: 64)))
            let area = Double(box.height * box.width) / Double(64 * 48)
            // Rounding each side to whole pixels moves the area and the aspect a little.
            #expect(area > 0.02 * 0.7 && area < 0.33 * 1.3)
            let aspect = Double(box.height) / Double(box.width)
            #expect(aspect > 0.3 * 0.6 && aspect < 3.3 / 0.6)
        }
        // The coin: 0.3 of the draws, within five standard deviations (a few draws find no box in ten tries).
        let share = Double(erased) / Double(trials)
        #expect(abs(share - 0.3) < 5 * (0.3 * 0.7 / Double(trials)).squareRoot() + 0.01, "erased \(share)")
    }

    @Test func cutmixKeepsWhatItsBoxLeaves() {
        let mixing = SampleMixing(cutmixAlpha: 1)
        var random = DeterministicRandom(seed: 2)
        for _ in 0..<2000 {
            guard case let .cutmix(box, keeps) = mixing.draw(height: 40, width: 56, random: &random) else {
                Issue.record("CutMix alone drew a MixUp")
                return
            }
            #expect(box.top >= 0 && box.left >= 0 && box.top + box.height <= 40 && box.left + box.width <= 56)
            #expect(keeps == 1 - Double(box.height * box.width) / Double(40 * 56))
        }
        // With both, each is picked about half of the time.
        let both = SampleMixing(mixupAlpha: 0.2, cutmixAlpha: 1)
        let cutmixes = (0..<4000).filter { _ in if case .cutmix = both.draw(height: 8, width: 8, random: &random) { true } else { false } }.count
        #expect(abs(Double(cutmixes) / 4000 - 0.5) < 0.04)
    }
}
