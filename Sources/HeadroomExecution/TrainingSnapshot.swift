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

    /// Puts the saved state back and drops any gradients. Consumes the snapshot: the optimiser
    /// may keep its tensors, and nothing is cloned, because the planner restores under the
    /// budget it measured with, where a second copy of the optimiser state (weights-sized
    /// twice over for Adam) did not fit.
    public consuming func restore(into step: TrainingStep) throws(TorchError) {
        try step.optimizer.zeroGrad()
        try withoutGradient { () throws(TorchError) in
            for ((_, target), (_, saved)) in zip(step.model.stateDict(), modelState) {
                try target.copyInPlace(from: saved)
            }
        }
        try step.optimizer.load(namedState: optimizerState, stepCount: optimizerSteps)
        step.restoreLossScaler(lossScaler)
    }
}
