import Torch
import TorchNN

/// The stem of a checkpointed ResNet, computed in horizontal bands: streaming through the
/// stem alone (see ``ResNet/Streaming``).
///
/// Checkpointing the stem as one segment still recomputes all of it at once in backward:
/// conv1's 64 channels at half resolution, BatchNorm's output and the max-pool's indices,
/// then their gradients — at high resolution the largest peak of a checkpointed network
/// (about 270 bytes per input pixel). In bands, a recompute holds one band.
extension ResNet {
    /// Output rows per band: about an eighth of the stem's output, at least 8.
    static func stemBandRows(outputRows: Int) -> Int { max(8, (outputRows + 7) / 8) }

    /// The banded stem for `segments`, if it applies: the stem and layer1 checkpointed (with
    /// layer1 kept whole, its activations outweigh the stem's recompute, and bands would
    /// cost compute for nothing), BatchNorm on batch statistics, and rows for two bands.
    func bandedStem(inputRows: Int, segments: Set<Segment>) -> Streaming? {
        let output = StreamedSizes(input: inputRows, model: self, blocks: []).stem
        let band = Self.stemBandRows(outputRows: output)
        guard segments.isSuperset(of: [.stem, .layer1]) && bn1.isTraining && !bn1.isFrozen && !isBatchNormSynchronized
            && output >= 2 * band
        else { return nil }
        return Streaming(through: .stem, bands: (output + band - 1) / band)
    }

    package func usesBandedStem(inputRows: Int, segments: Set<Segment>) -> Bool {
        bandedStem(inputRows: inputRows, segments: segments) != nil
    }
}
