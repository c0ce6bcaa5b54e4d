public import Torch
import TorchNN
import TorchOptim

/// Everything a training step changes — weights, BatchNorm statistics, optimiser state,
/// the loss scale — saved so it can be put back bit for bit after probing memory.
/// Kept in host memory, so on a GPU it costs nothing on the device being measured.
public struct TrainingSnapshot {
    private let modelState: [(name: String, tensor: Tensor)]
    private let optimizerState: [String: Tensor]
    private let optimizerSteps: Int
    private let lossScaler: LossScaler?

    /// Bytes the snapshot holds in host memory (counted by the CPU budget while it lives).
    public let byteCount: Int

    public init(of step: TrainingStep) throws(TorchError) {
        modelState = try step.model.stateDict().map { (entry) throws(TorchError) in
            (entry.name, try entry.tensor.detached().to(device: .cpu).clone())
        }
        var optimizerState: [String: Tensor] = [:]
        for (name, tensor) in step.optimizer.namedState() {
            optimizerState[name] = try tensor.to(device: .cpu).clone()
        }
        self.optimizerState = optimizerState
        optimizerSteps = step.optimizer.stepCount
        lossScaler = step.lossScaler
        byteCount = (modelState.map(\.tensor) + Array(optimizerState.values)).reduce(0) { $0 + $1.count * $1.dtype.elementSize }
    }

    /// Puts the saved state back and drops any gradients.
    public func restore(into step: TrainingStep) throws(TorchError) {
        try withoutGradient { () throws(TorchError) in
            for ((_, target), (_, saved)) in zip(step.model.stateDict(), modelState) {
                try target.copyInPlace(from: saved)
            }
        }
        var state: [String: Tensor] = [:]
        for (name, tensor) in optimizerState { state[name] = try tensor.clone() }
        try step.optimizer.load(namedState: state, stepCount: optimizerSteps)
        try step.optimizer.zeroGrad()
        step.restoreLossScaler(lossScaler)
    }
}
