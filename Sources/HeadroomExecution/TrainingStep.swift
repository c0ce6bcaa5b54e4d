public import HeadroomModels
public import Torch
import TorchNN
public import TorchOptim

/// One optimiser step of a classifier, in micro-batches: the code path training, the
/// memory probe and the planner's verification all run, so what is measured is what runs.
public final class TrainingStep {
    /// The forward pass validation and inference share.
    public let pass: ForwardPass
    public let optimizer: any Optimizer
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
    /// The type of the loader's batches (uint8 photos, float32 deeper samples): what the
    /// memory probe feeds, so that it measures the input a run's steps get.
    public var inputType: DType = .uint8

    public var model: ResNet { pass.model }
    public var device: Device { pass.device }
    public var precision: Precision { pass.precision }
    public var memoryFormat: MemoryFormat { pass.memoryFormat }

    public init(
        model: ResNet, optimizer: any Optimizer, device: Device, precision: Precision, memoryFormat: MemoryFormat = .contiguous,
        labelSmoothing: Double = 0, gradientClipNorm: Double? = nil,
        normalisation: InputNormalisation = .imageNet
    ) throws(TorchError) {
        pass = try ForwardPass(model: model, device: device, precision: precision, memoryFormat: memoryFormat, normalisation: normalisation)
        self.optimizer = optimizer
        self.labelSmoothing = labelSmoothing
        self.gradientClipNorm = gradientClipNorm
        lossScaler = precision == .fp16 ? LossScaler() : nil
    }

    /// Forward and backward of one micro-batch whose mean loss counts `weight` of the
    /// step (its share of the effective batch); gradients accumulate. Returns the
    /// micro-batch's summed loss and correct top-1 count as device tensors (no sync).
    ///
    /// MixUp/CutMix (`mixing`): each sample's loss is keeps·CE(label) + (1 − keeps)·CE(partner),
    /// which is the cross-entropy against torchvision's mixed one-hot targets (it is linear in
    /// the target, label smoothing included); the top-1 counts against the sample's own label.
    @discardableResult
    public func accumulate(
        images: Tensor, labels: Tensor, mixing: (partnerLabels: Tensor, keeps: Tensor)? = nil, weight: Double,
        recomputing segments: Set<ResNet.Segment> = [], streaming: ResNet.Streaming? = nil
    ) throws(TorchError) -> (lossSum: Tensor, correct: Tensor) {
        phase = .forward
        let targets = try labels.to(device: device)
        let logits = try pass.logits(images: images, recomputing: segments, streaming: streaming)
        let loss = try Self.loss(
            logits.to(dtype: precision.parameterType), targets: targets, mixing: mixing, labelSmoothing: labelSmoothing, device: device)
        phase = .backward
        try (loss * (weight * (lossScaler?.scale ?? 1))).backward()
        return try withoutGradient { () throws(TorchError) in
            let count = Double(labels.shape[0])
            let correct = try logits.argmax(dim: 1).eq(targets).sum()
            return (try loss.detached() * count, correct)
        }
    }

    /// The mean loss of a micro-batch, mixed targets weighted by what each sample keeps.
    static func loss(
        _ logits: Tensor, targets: Tensor, mixing: (partnerLabels: Tensor, keeps: Tensor)?, labelSmoothing: Double, device: Device
    ) throws(TorchError) -> Tensor {
        guard let mixing else { return try logits.crossEntropy(targets: targets, labelSmoothing: labelSmoothing) }
        let own = try logits.crossEntropy(targets: targets, reduction: .none, labelSmoothing: labelSmoothing)
        let partners = try logits.crossEntropy(
            targets: mixing.partnerLabels.to(device: device), reduction: .none, labelSmoothing: labelSmoothing)
        let keeps = try mixing.keeps.to(device: device, dtype: logits.dtype)
        return try (partners + (own - partners) * keeps).mean()
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
