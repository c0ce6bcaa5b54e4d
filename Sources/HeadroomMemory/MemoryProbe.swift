public import HeadroomExecution
public import HeadroomModels
public import Torch
import TorchNN
import TorchOptim

/// Measures the peak memory of one real training step — forward, loss, backward,
/// optimiser step, with the run's precision and memory format — on synthetic data.
///
/// Steps run as training runs them: the optimiser state exists (the session takes one
/// small warm-up step first), so the peak is the steady-state one, not the first step's;
/// with `gradientsPresent` the gradients already exist when forward and backward run, as
/// for every micro-batch but the first of an accumulating step (and for every step when
/// they live in a data-parallel run's buckets, ``TrainingStep/gradientReducer``). The
/// session saves the training state first and restores it when it ends.
///
/// With a budget, steps run under it as training would. On the CPU the snapshot lives in
/// the same memory, so the enforced limit is raised by the snapshot's size and the
/// snapshot is left out of every measured peak: the figures are what training will see.
public final class MemoryProbe: StepPeakMeasuring {
    public let step: TrainingStep
    public var model: ResNet { step.model }
    public var device: Device { step.device }
    public var precision: Precision { step.precision }
    private var snapshot: TrainingSnapshot?
    private let snapshotBytesOnDevice: Int
    private let budgetBytes: Int?
    private let generator: Generator
    /// Told of every measured step as it ends (`plan --verbose`): planning a large image takes
    /// minutes, and this says where they go.
    public var onStep: ((ProbedStep) -> Void)?

    /// Saves the state, applies the budget, and takes one warm-up step at `warmUpResolution`,
    /// or at ``SteadyStatePeaks/settlingResolution`` where that is smaller: it is there to make
    /// the optimiser state, and a large one that cannot fit would only take seconds to fail.
    public init(step: TrainingStep, warmUpResolution: Int, budgetBytes: Int? = nil, seed: UInt64 = 0) throws(TorchError) {
        self.step = step
        self.budgetBytes = budgetBytes
        try MemoryController.setDeviceBudget(nil, on: step.device)
        let snapshot = try TrainingSnapshot(of: step)
        self.snapshot = snapshot
        let allowance = step.device.isCUDA ? 0 : snapshot.byteCount
        snapshotBytesOnDevice = allowance
        try MemoryController.setDeviceBudget(budgetBytes.map { $0 + allowance }, on: step.device)
        generator = try Generator(seed: seed)
        do {
            try runStep(
                batch: 1, resolution: min(warmUpResolution, SteadyStatePeaks.settlingResolution), gradientsPresent: false, recomputing: [],
                streaming: nil)
        } catch {
            // A failed warm-up is itself a measurement: probes will fail the same way.
            if !error.isOutOfMemory { throw error }
        }
    }

    /// The peak bytes of one step at `batch` × `resolution`², or nil when it ran out of
    /// memory, with `recomputing`'s activations recomputed in backward and the start of the
    /// network `streaming` in bands. On CPU the snapshot's own host bytes are left out.
    public func peak(
        batch: Int, resolution: Int, gradientsPresent: Bool = false, recomputing segments: Set<ResNet.Segment> = [],
        streaming: ResNet.Streaming? = nil
    ) throws(TorchError) -> Int? {
        precondition(snapshot != nil, "the probe session has ended")
        try step.optimizer.zeroGrad()
        try step.device.resetPeakMemory()
        let started = ContinuousClock.now
        var peak: Int?
        do {
            try runStep(batch: batch, resolution: resolution, gradientsPresent: gradientsPresent, recomputing: segments, streaming: streaming)
            peak = try step.device.memoryStatistics().peakBytes - snapshotBytesOnDevice
        } catch {
            guard error.isOutOfMemory else { throw error }
            try step.optimizer.zeroGrad()
        }
        onStep?(ProbedStep(
            batch: batch, resolution: resolution, recomputed: segments, streaming: streaming, peakBytes: peak,
            seconds: (ContinuousClock.now - started).seconds))
        return peak
    }

    /// Restores the training state as it was before the session, releases the snapshot and
    /// leaves the budget itself (without the snapshot's allowance) in force.
    public func finish() throws(TorchError) {
        guard let snapshot else { return }
        self.snapshot = nil
        try snapshot.restore(into: step)
        try MemoryController.setDeviceBudget(budgetBytes, on: step.device)
        // The probes' block sizes will not come back; training's will be cached anew.
        try step.device.emptyCache()
    }

    /// Bytes no step of one sample at `resolution` can do without, however it is cut: what
    /// the device holds now (weights, and optimiser state once it exists), the optimiser
    /// state a first step creates (momentum: one copy of the weights, Adam: two), the
    /// gradients, and the image as uint8 and as the weights' type. Above the budget, no
    /// rung is worth probing.
    public func floorBytes(resolution: Int) throws(TorchError) -> Int {
        let live = try step.device.memoryStatistics().liveBytes - snapshotBytesOnDevice
        var stateCopies = 0
        if step.optimizer.namedState().isEmpty {
            if let sgd = step.optimizer as? SGD, sgd.momentum != 0 { stateCopies = 1 }
            if step.optimizer is Adam { stateCopies = 2 }
        }
        let image = 3 * resolution * resolution * (1 + step.precision.parameterType.elementSize)
        return live + stateCopies * gradientBytes + accumulationBytes + image
    }

    /// Bytes the trainable parameters' gradients take.
    public var gradientBytes: Int {
        step.optimizer.parameters.filter(\.requiresGradient).reduce(0) { $0 + $1.count * $1.dtype.elementSize }
    }

    /// Bytes an accumulating step holds that one micro-batch does not: the gradients, except
    /// where they live in a data-parallel run's buckets, which are allocated (live) already.
    public var accumulationBytes: Int { step.gradientReducer == nil ? gradientBytes : 0 }

    private func runStep(
        batch: Int, resolution: Int, gradientsPresent: Bool, recomputing segments: Set<ResNet.Segment>, streaming: ResNet.Streaming?
    ) throws(TorchError) {
        if let reducer = step.gradientReducer {
            // As every data-parallel step starts: the gradients are the buckets' places, zeroed,
            // so backward adds into them, and they are present whichever micro-batch this is.
            try reducer.attachGradients()
        } else if gradientsPresent {
            // As after the micro-batches before this one.
            try withoutGradient { () throws(TorchError) in
                for parameter in step.optimizer.parameters where parameter.requiresGradient && parameter.grad == nil {
                    try parameter.setGrad(Tensor.zeros(like: parameter))
                }
            }
        }
        let images = try (Tensor.rand([batch, step.model.inputBands, resolution, resolution], generator: generator) * 255)
            .to(dtype: step.inputType)
        let labels = try (Tensor.rand([batch], generator: generator) * Double(step.model.classCount)).floor().to(dtype: .int64)
        try step.accumulate(images: images, labels: labels, weight: 1, recomputing: segments, streaming: streaming)
        try step.step()
    }
}

/// One step a probe measured: what it ran, its peak (nil: out of memory) and how long it took.
public struct ProbedStep: Sendable {
    public var batch: Int
    public var resolution: Int
    public var recomputed: Set<ResNet.Segment>
    public var streaming: ResNet.Streaming?
    public var peakBytes: Int?
    public var seconds: Double
}
