public import Torch

/// The samples of one optimiser step, decoded: uint8 NCHW pixels, int64 labels, and which
/// dataset samples they are (for the record that every sample is seen once).
public struct StepBatch: @unchecked Sendable {
    // @unchecked: the tensors are built by one loader thread and only read afterwards.
    public var images: Tensor
    public var labels: Tensor
    public var sampleIndices: [Int]

    public init(images: Tensor, labels: Tensor, sampleIndices: [Int]) {
        self.images = images
        self.labels = labels
        self.sampleIndices = sampleIndices
    }

    public var count: Int { sampleIndices.count }
    public var resolution: Int { images.shape[2] }
}
