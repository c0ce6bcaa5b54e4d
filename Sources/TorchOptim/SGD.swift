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

    public func step() throws(TorchError) {
        try withoutGradient { () throws(TorchError) in
            for (index, parameter) in parameters.enumerated() {
                guard var direction = parameter.grad else { continue }
                if weightDecay != 0 { direction = try direction + parameter * weightDecay }
                if momentum != 0 {
                    var isNew = false
                    let buffer = try state.buffer("momentum_buffer", of: index) { () throws(TorchError) in
                        isNew = true
                        return try direction.detached().clone()
                    }
                    if !isNew {
                        try buffer *= momentum
                        try buffer.addInPlace(direction, alpha: 1 - dampening)
                    }
                    direction = nesterov ? try direction + buffer * momentum : buffer
                }
                try parameter.addInPlace(direction, alpha: -learningRate)
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
