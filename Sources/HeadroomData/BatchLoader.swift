import Dispatch
import Foundation
public import Torch

/// A sample that could not be used, and why (reported as a `bad_image` event).
public struct BadSample: Sendable, Error, CustomStringConvertible {
    public var index: Int
    public var path: String
    public var reason: String
    public var description: String { "\(PathNames.display(path)): \(reason)" }

    public init(index: Int, path: String, reason: String) {
        self.index = index
        self.path = path
        self.reason = reason
    }
}

/// Decodes and transforms the samples of a batch in parallel into one NCHW tensor.
///
/// Photos cross the loader boundary as uint8 (a quarter of the float bytes), samples of deeper
/// images as float32; conversion and normalisation happen on the training device. A sample that fails to decode is reported and replaced by
/// another sample of the dataset, drawn from the failing sample's own random stream, so
/// the batch stays whole and the run stays deterministic; the trainer leaves bad samples
/// out of later epochs.
public final class BatchLoader: @unchecked Sendable {
    // @unchecked: configured before use, then only `knownBad` changes, guarded by `lock`.
    public let samples: LabeledSamples
    public let transform: SampleTransform
    public let decoder: ImageDecoder
    public let seed: UInt64
    public let workers: Int
    /// Stop at the first sample that cannot be decoded instead of replacing it.
    public var failsOnBadSample = false
    /// Leave a sample that cannot be decoded out of its batch instead of replacing it: in
    /// evaluation a stand-in (perhaps of another class) would make the per-class counts wrong.
    public var skipsBadSamples = false
    /// Random erasing and MixUp/CutMix after the transform (training only; nil: none).
    public var augmentation: SampleAugmentation?
    private let lock = NSLock()
    private var knownBad: [Int: BadSample] = [:]

    public init(samples: LabeledSamples, transform: SampleTransform, seed: UInt64, workers: Int, decoder: ImageDecoder = ImageDecoder()) {
        self.samples = samples
        self.transform = transform
        self.decoder = decoder
        self.seed = seed
        self.workers = max(1, workers)
    }

    /// Samples found unusable so far.
    public var badSamples: [BadSample] {
        lock.lock()
        defer { lock.unlock() }
        return knownBad.values.sorted { $0.index < $1.index }
    }

    /// The batch of `indices` at `resolution` for `epoch`. `step`: the whole optimiser step's
    /// samples in epoch order when `indices` is a share of it (a micro-batch, a rank's part);
    /// MixUp/CutMix pair each sample with the one before it there — torchvision's batch rolled
    /// by one, taken over the step so that how it is cut changes no pair.
    public func batch(_ indices: [Int], resolution: Int, epoch: Int, step: [Int]? = nil) throws -> StepBatch {
        let count = indices.count
        let partners = augmentation?.mixing.isActive == true ? Self.partnersRolledByOne(in: step ?? indices) : [:]
        let stepMix = stepMix(of: step ?? indices, resolution: resolution, epoch: epoch)
        let format = decoder.input
        let images = try Tensor.empty([count, format.bands, resolution, resolution], dtype: batchType)
        let chosen = UnsafeMutableBufferPointer<Loaded>.allocate(capacity: count)
        defer { chosen.deallocate() }
        let failures = UnsafeMutableBufferPointer<(any Error)?>.allocate(capacity: count)
        failures.initialize(repeating: nil)
        defer { failures.deinitialize().deallocate() }
        // Workers take the next unclaimed slot until none is left, so a slow image holds up one
        // worker, not a fixed share of the batch; the slots are disjoint, so no two write the same memory.
        let slots = Slots(chosen: chosen, failures: failures, images: images, next: SlotCounter(count: count))
        DispatchQueue.concurrentPerform(iterations: min(workers, count)) { _ in
            withSingleThreadedTorch {
                while let slot = slots.next.claim() {
                    do {
                        slots.chosen[slot] = try self.load(
                            indices[slot], partner: partners[indices[slot]], mix: stepMix, into: slot, of: slots.images,
                            resolution: resolution, epoch: epoch)
                    } catch {
                        slots.failures[slot] = error
                    }
                }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        // Skipped samples leave their slot at -1: the batch keeps the others, in order.
        let kept = (0..<count).filter { chosen[$0].sample >= 0 }
        let sampleIndices = kept.map { chosen[$0].sample }
        let labels = try Tensor(sampleIndices.map { Int64(samples.samples[$0].classIndex) })
        let keptImages = kept.count == count ? images : try images.indexSelect(dim: 0, indices: Tensor(kept.map(Int64.init)))
        var batch = StepBatch(images: keptImages, labels: labels, sampleIndices: sampleIndices)
        if augmentation?.mixing.isActive == true {
            batch.partnerLabels = try Tensor(kept.map { Int64(chosen[$0].partnerClass) })
            batch.keeps = try Tensor(kept.map { chosen[$0].keeps })
            batch.partnerIndices = kept.map { chosen[$0].partner }
        }
        return batch
    }

    /// The element type of this loader's batches: the set's, or float32 where the augmentation blends.
    public var batchType: DType { augmentation?.batchType(for: decoder.input) ?? decoder.input.batchType }

    /// What went into one slot of a batch: the sample (-1: skipped) and, when mixing, its
    /// partner's class and the share of the sample it keeps.
    struct Loaded {
        var sample: Int
        var partner = -1
        var partnerClass = -1
        var keeps = 1.0
    }

    /// The step's one mix (λ, MixUp or CutMix, the box), drawn from the stream its first sample
    /// names; nil when not mixing.
    private func stepMix(of step: [Int], resolution: Int, epoch: Int) -> SampleMixing.Mix? {
        guard let mixing = augmentation?.mixing, mixing.isActive else { return nil }
        var random = SampleAugmentation.stepMixingRandom(seed: seed, epoch: epoch, firstSample: step.first ?? 0)
        return mixing.draw(height: resolution, width: resolution, random: &random)
    }

    /// Each sample of `step` and the one before it (the first's: the last).
    static func partnersRolledByOne(in step: [Int]) -> [Int: Int] {
        Dictionary(step.indices.map { (step[$0], step[($0 + step.count - 1) % step.count]) }, uniquingKeysWith: { first, _ in first })
    }

    /// Loads sample `index` (or its replacement) into `slot`, mixed with `partner` when mixing.
    private func load(
        _ index: Int, partner: Int?, mix: SampleMixing.Mix?, into slot: Int, of images: Tensor, resolution: Int, epoch: Int
    ) throws -> Loaded {
        var random = DeterministicRandom(seed: seed, epoch: epoch, index: index)
        var candidate = index
        for _ in 0..<16 {
            if isBad(candidate) {
                if skipsBadSamples { return Loaded(sample: -1) }
            } else {
                do {
                    let target = try images.select(dim: 0, index: slot)
                    try target.copyInPlace(from: pixels(of: candidate, resolution: resolution, epoch: epoch))
                    var loaded = Loaded(sample: candidate, partner: candidate, partnerClass: samples.samples[candidate].classIndex)
                    if let mix {
                        try blend(
                            into: target, for: candidate, partner: partner ?? candidate, mix: mix, loaded: &loaded, resolution: resolution,
                            epoch: epoch)
                    }
                    return loaded
                } catch let error as TorchError where error.isOutOfMemory {
                    throw error
                } catch {
                    let bad = BadSample(index: candidate, path: samples.samples[candidate].path, reason: "\(error)")
                    markBad(bad)
                    if failsOnBadSample { throw bad }
                    if skipsBadSamples { return Loaded(sample: -1) }
                }
            }
            candidate = random.nextInt(below: samples.samples.count)
        }
        throw BadSample(index: index, path: samples.samples[index].path, reason: "it and 15 replacements could not be decoded")
    }

    /// Sample `index` as this epoch sees it: transformed from its own stream, in the batch's
    /// type, erased when its erasing stream says so.
    func pixels(of index: Int, resolution: Int, epoch: Int) throws -> Tensor {
        var random = DeterministicRandom(seed: seed, epoch: epoch, index: index)
        var pixels = try transform.apply(toFileAt: samples.samples[index].path, resolution: resolution, decoder: decoder, random: &random)
        guard let augmentation else { return pixels }
        var policy = SampleAugmentation.policyRandom(seed: seed, epoch: epoch, index: index)
        pixels = try augmentation.applyPolicy(to: pixels, random: &policy)
        if pixels.dtype != batchType { pixels = try pixels.to(dtype: batchType) }
        var erasing = SampleAugmentation.erasingRandom(seed: seed, epoch: epoch, index: index)
        try augmentation.erase(pixels, random: &erasing)
        return pixels
    }

    /// Blends `partner`, as this epoch sees it, into `target` with the step's `mix`, noting the
    /// partner's class and the share kept. A partner that cannot be decoded is marked bad and
    /// another drawn from the sample's stream; with none after 16 tries the sample stays whole.
    private func blend(
        into target: Tensor, for sample: Int, partner nominated: Int, mix: SampleMixing.Mix, loaded: inout Loaded, resolution: Int, epoch: Int
    ) throws {
        var random = SampleAugmentation.mixingRandom(seed: seed, epoch: epoch, index: sample)
        for attempt in 0..<16 {
            let partner = attempt == 0 ? nominated : random.nextInt(below: samples.samples.count)
            guard !isBad(partner) else { continue }
            let partnerPixels: Tensor
            do {
                partnerPixels = try pixels(of: partner, resolution: resolution, epoch: epoch)
            } catch let error as TorchError where error.isOutOfMemory {
                throw error
            } catch {
                markBad(BadSample(index: partner, path: samples.samples[partner].path, reason: "\(error)"))
                continue
            }
            try SampleAugmentation.blend(target, with: partnerPixels, as: mix)
            loaded.partner = partner
            loaded.partnerClass = samples.samples[partner].classIndex
            loaded.keeps = mix.keeps
            return
        }
    }

    private func isBad(_ index: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return knownBad[index] != nil
    }

    private func markBad(_ sample: BadSample) {
        lock.lock()
        defer { lock.unlock() }
        knownBad[sample.index] = sample
    }

    /// Marks samples known bad from an earlier run (a resumed one).
    public func markBad(_ samples: [BadSample]) {
        for sample in samples { markBad(sample) }
    }

    /// Bytes a batch of `count` samples at `resolution` holds.
    /// (`type`: the batches' element type when an augmentation changes it.)
    public static func batchBytes(count: Int, resolution: Int, format: InputFormat = .rgb, type: DType? = nil) -> Int {
        count * format.bands * (type ?? format.batchType).elementSize * resolution * resolution
    }

    /// Host bytes the loader holds for batches of `count` at `resolution`: the prefetch queue's
    /// two decoded batches beside the one training.
    public static func queuedBytes(count: Int, resolution: Int, format: InputFormat = .rgb, type: DType? = nil) -> Int {
        3 * batchBytes(count: count, resolution: resolution, format: format, type: type)
    }
}

/// The shared output slots of one batch, handed to the worker threads.
private struct Slots: @unchecked Sendable {
    // @unchecked: each worker writes only its own slots.
    let chosen: UnsafeMutableBufferPointer<BatchLoader.Loaded>
    let failures: UnsafeMutableBufferPointer<(any Error)?>
    let images: Tensor
    let next: SlotCounter
}

/// Hands out the slots of a batch, each once, in order.
private final class SlotCounter: @unchecked Sendable {
    // @unchecked: `claimed` is guarded by `lock`.
    private let lock = NSLock()
    private var claimed = 0
    private let count: Int

    init(count: Int) { self.count = count }

    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard claimed < count else { return nil }
        claimed += 1
        return claimed - 1
    }
}
