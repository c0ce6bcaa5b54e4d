public import Torch

/// Stochastic gradient descent with momentum, dampening, Nesterov and (coupled) weight
/// decay, with the same update as PyTorch's `torch.optim.SGD`.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let weightDecay: Double
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var state: ParameterState

    public init(
        parameters: [Tensor], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false
    ) throws(TorchError) {
        guard learningRate >= 0, momentum >= 0, weightDecay >= 0 else {
            throw .invalidArgument("SGD needs lr, momentum and weight decay ≥ 0")
        }
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw .invalidArgument("Nesterov momentum needs momentum > 0 and no dampening")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        state = ParameterState(count: parameters.count)
    }

    /// The update, in place. Every allocation (the momentum buffers of a first step) happens
    /// before the first parameter changes, so an out-of-memory error leaves the parameters
    /// as they were; the gradients are used as scratch space (they are dropped after a step).
    public func step() throws(TorchError) {
        let active = parameters.enumerated().compactMap { index, parameter in parameter.grad.map { (index, parameter, $0) } }
        var fresh = Set<Int>()
        if momentum != 0 {
            for (index, parameter, _) in active {
                _ = try state.buffer("momentum_buffer", of: index) { () throws(TorchError) in
                    fresh.insert(index)
                    return try Tensor.zeros(parameter.shape, dtype: parameter.dtype, device: parameter.device)
                }
            }
        }
        try withoutGradient { () throws(TorchError) in
            for (index, parameter, direction) in active {
                if weightDecay != 0 { try direction.addInPlace(parameter, alpha: weightDecay) }
                var update = direction
                if momentum != 0 {
                    let buffer = try state.buffer("momentum_buffer", of: index) { () throws(TorchError) in direction }
                    if fresh.contains(index) {
                        try buffer.copyInPlace(from: direction)  // PyTorch starts the buffer at d_p
                    } else {
                        try buffer *= momentum
                        try buffer.addInPlace(direction, alpha: 1 - dampening)
                    }
                    if nesterov {
                        try direction.addInPlace(buffer, alpha: momentum)
                    } else {
                        update = buffer
                    }
                }
                try parameter.addInPlace(update, alpha: -learningRate)
            }
        }
        stepCount += 1
    }

    public func namedState() -> [(name: String, tensor: Tensor)] { state.named() }

    public func load(namedState: [String: Tensor], stepCount: Int) throws(TorchError) {
        try state.load(namedState, parameters: parameters)
        self.stepCount = stepCount
    }
}
