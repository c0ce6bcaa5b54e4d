public import Torch

/// The samples of one optimiser step, decoded: uint8 NCHW pixels, int64 labels, and which
/// dataset samples they are (for the record that every sample is seen once).
public struct StepBatch: @unchecked Sendable {
    // @unchecked: the tensors are built by one loader thread and only read afterwards.
    public var images: Tensor
    public var labels: Tensor
    public var sampleIndices: [Int]
    /// The samples of the whole optimiser step: more than `count` when this is one rank's
    /// share of a data-parallel step. Each micro-batch's loss weighs size / stepSamples.
    public var stepSamples: Int
    /// MixUp/CutMix: each sample's partner's class, and the share of the sample it keeps
    /// (float64); the loss is keeps·CE(label) + (1 − keeps)·CE(partner's). Nil when not mixing.
    public var partnerLabels: Tensor?
    public var keeps: Tensor?
    /// MixUp/CutMix: the dataset sample each one was mixed with (its own index when no partner
    /// could be decoded), for the record and for checking.
    public var partnerIndices: [Int]?

    public init(
        images: Tensor, labels: Tensor, sampleIndices: [Int], stepSamples: Int? = nil, partnerLabels: Tensor? = nil, keeps: Tensor? = nil
    ) {
        self.images = images
        self.labels = labels
        self.sampleIndices = sampleIndices
        self.stepSamples = stepSamples ?? sampleIndices.count
        self.partnerLabels = partnerLabels
        self.keeps = keeps
    }

    public var count: Int { sampleIndices.count }
    public var resolution: Int { images.shape[2] }
}
