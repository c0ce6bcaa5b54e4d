public import Torch
import TorchNN
public import TorchOptim

/// One optimiser step of a classifier, in micro-batches: the code path training, the
/// memory probe and the planner's verification all run, so what is measured is what runs.
public final class TrainingStep {
    public let model: ResNet
    public let optimizer: any Optimizer
    public let device: Device
    public let precision: Precision
    public let memoryFormat: MemoryFormat
    public let labelSmoothing: Double
    /// Clip the global gradient norm to this before each step (none when nil).
    public var gradientClipNorm: Double?
    /// Where the gradients live in data-parallel training: the reducer's buckets, allocated
    /// once, which every step attaches the gradients to (so backward allocates none). The
    /// memory probe attaches them too, so that it measures what such a step holds.
    public var gradientReducer: GradientReducer?
    public private(set) var lossScaler: LossScaler?
    /// Where the last micro-batch is (or stopped): what an out-of-memory report names.
    public private(set) var phase = Phase.forward

    public enum Phase: String, Sendable { case forward, backward }
    /// uint8 pixels into normalised floats in one pass.
    private let normalisation: PixelNormalisation

    /// ImageNet's channel statistics (torchvision's), which every input is normalised with.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    public init(
        model: ResNet, optimizer: any Optimizer, device: Device, precision: Precision, memoryFormat: MemoryFormat = .contiguous,
        labelSmoothing: Double = 0, gradientClipNorm: Double? = nil,
        mean: [Float] = TrainingStep.imageNetMean, std: [Float] = TrainingStep.imageNetStd
    ) throws(TorchError) {
        // What runs is the precision's: weights, gradients and optimiser state in its type.
        try model.move(dtype: precision.parameterType)
        self.model = model
        self.optimizer = optimizer
        self.device = device
        self.precision = precision
        self.memoryFormat = memoryFormat
        self.labelSmoothing = labelSmoothing
        self.gradientClipNorm = gradientClipNorm
        lossScaler = precision == .fp16 ? LossScaler() : nil
        normalisation = try PixelNormalisation(mean: mean, std: std, device: device, dtype: precision.parameterType)
    }

    /// uint8 NCHW images (any device) → normalised floats (the weights' type) on the training device.
    public func prepare(_ images: Tensor) throws(TorchError) -> Tensor {
        // The transfer moves uint8, a quarter of the float bytes.
        let normalised = try normalisation(images.to(device: device, nonBlocking: true))
        return memoryFormat == .channelsLast ? try normalised.contiguous(.channelsLast) : normalised
    }

    /// Logits for uint8 images. Where the start of the network runs in bands (streaming, or
    /// the banded stem), each band normalises the rows it reads, so the whole image is only
    /// ever held as uint8.
    func logits(
        images: Tensor, recomputing segments: Set<ResNet.Segment>, streaming: ResNet.Streaming?
    ) throws(TorchError) -> Tensor {
        guard memoryFormat == .contiguous,
            streaming != nil || model.usesBandedStem(inputRows: images.shape[2], segments: segments)
        else { return try forward(prepare(images), recomputing: segments, streaming: streaming) }
        let pixels = try images.to(device: device, nonBlocking: true)
        return try autocasting { () throws(TorchError) in
            try model.forward(pixels, recomputing: segments, streaming: streaming, normalising: normalisation)
        }
    }

    /// Logits for prepared images, under autocast when the precision asks for it, with the
    /// activations of `recomputing` recomputed in backward and the start of the network
    /// `streaming` in bands (the memory plan's choices).
    public func forward(
        _ inputs: Tensor, recomputing segments: Set<ResNet.Segment> = [], streaming: ResNet.Streaming? = nil
    ) throws(TorchError) -> Tensor {
        try autocasting { () throws(TorchError) in try model.forward(inputs, recomputing: segments, streaming: streaming) }
    }

    /// `body` under autocast when the precision asks for it.
    private func autocasting(_ body: () throws(TorchError) -> Tensor) throws(TorchError) -> Tensor {
        guard let type = precision.autocastType else { return try body() }
        return try withAutocast(device: device, dtype: type, body)
    }

    /// Forward and backward of one micro-batch whose mean loss counts `weight` of the
    /// step (its share of the effective batch); gradients accumulate. Returns the
    /// micro-batch's summed loss and correct top-1 count as device tensors (no sync).
    @discardableResult
    public func accumulate(
        images: Tensor, labels: Tensor, weight: Double, recomputing segments: Set<ResNet.Segment> = [],
        streaming: ResNet.Streaming? = nil
    ) throws(TorchError) -> (lossSum: Tensor, correct: Tensor) {
        phase = .forward
        let targets = try labels.to(device: device)
        let logits = try self.logits(images: images, recomputing: segments, streaming: streaming)
        let loss = try logits.to(dtype: precision.parameterType).crossEntropy(targets: targets, labelSmoothing: labelSmoothing)
        phase = .backward
        try (loss * (weight * (lossScaler?.scale ?? 1))).backward()
        return try withoutGradient { () throws(TorchError) in
            let count = Double(labels.shape[0])
            let correct = try logits.argmax(dim: 1).eq(targets).sum()
            return (try loss.detached() * count, correct)
        }
    }

    /// The optimiser step on the accumulated gradients (unscaled and clipped first), then
    /// the gradients are dropped. Returns false when fp16 overflow made it skip the step.
    @discardableResult
    public func step() throws(TorchError) -> Bool {
        let gradients = optimizer.parameters.compactMap(\.grad)
        var finite = true
        if var scaler = lossScaler {
            finite = try scaler.unscale(gradients)
            scaler.update(foundInfinite: !finite)
            lossScaler = scaler
        }
        if finite {
            if let limit = gradientClipNorm { try clipGradientNorm(gradients, to: limit) }
            try optimizer.step()
        }
        try optimizer.zeroGrad()
        return finite
    }

    /// Scales all gradients so their global L2 norm is at most `limit` (clip_grad_norm_).
    private func clipGradientNorm(_ gradients: [Tensor], to limit: Double) throws(TorchError) {
        guard !gradients.isEmpty else { return }
        let squares = try gradients.map { (g) throws(TorchError) in try g.to(dtype: precision.parameterType).square().sum() }
        let norm = try Tensor.stack(squares).sum().sqrt()
        let factor = try (norm + 1e-6).reciprocal() * limit
        let clamped = try factor.clamped(max: 1)
        for gradient in gradients { try gradient *= clamped }
    }

    /// Restores a scaler saved in a checkpoint.
    public func restoreLossScaler(_ scaler: LossScaler?) {
        if precision == .fp16 { lossScaler = scaler ?? LossScaler() }
    }
}
