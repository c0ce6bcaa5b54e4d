public import Torch

/// Stochastic gradient descent with momentum, dampening, Nesterov and (coupled) weight
/// decay, with the same update as PyTorch's `torch.optim.SGD`.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    public let momentum: Double
    public let dampening: Double
    public let weightDecay: Double
    /// Each parameter's weight decay: `weightDecay`, or what `weightDecays` gave it (PyTorch's
    /// parameter groups, as torchvision's recipe makes one for the normalisation layers).
    public let weightDecays: [Double]
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var state: ParameterState

    public init(
        parameters: [Tensor], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, weightDecays: [Double]? = nil, nesterov: Bool = false
    ) throws(TorchError) {
        guard learningRate >= 0, momentum >= 0, weightDecay >= 0, (weightDecays ?? []).allSatisfy({ $0 >= 0 }) else {
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
        self.weightDecays = try ParameterState.weightDecays(weightDecays, default: weightDecay, count: parameters.count)
        self.nesterov = nesterov
        state = ParameterState(count: parameters.count)
    }

    /// The update, in place, through libtorch's fused SGD kernel (one pass per tensor).
    /// The momentum buffers of a first step are allocated before anything changes, so an
    /// out-of-memory error leaves the parameters as they were.
    public func step() throws(TorchError) {
        let active = parameters.enumerated().compactMap { index, parameter in parameter.grad.map { (index, parameter, $0) } }
        // Parameters whose buffers exist take a regular step, new ones start their buffers;
        // each weight decay is a group of its own.
        var groups: [Group: [(Tensor, Tensor, Tensor?)]] = [:]
        for (index, parameter, gradient) in active {
            var isFirst = false
            var buffer: Tensor?
            if momentum != 0 {
                buffer = try state.buffer("momentum_buffer", of: index) { () throws(TorchError) in
                    isFirst = true
                    return try Tensor.zeros(like: parameter)
                }
            }
            groups[Group(isFirst: isFirst, weightDecay: weightDecays[index]), default: []].append((parameter, gradient, buffer))
        }
        try withoutGradient { () throws(TorchError) in
            for (group, members) in groups {
                try Tensor.fusedSGDStep(
                    parameters: members.map(\.0), gradients: members.map(\.1), momentumBuffers: members.compactMap(\.2),
                    weightDecay: group.weightDecay, momentum: momentum, learningRate: learningRate, dampening: dampening,
                    nesterov: nesterov, isFirstStep: group.isFirst)
            }
        }
        stepCount += 1
    }

    private struct Group: Hashable {
        var isFirst: Bool
        var weightDecay: Double
    }

    public func namedState() -> [(name: String, tensor: Tensor)] { state.named() }

    public func load(namedState: [String: Tensor], stepCount: Int) throws(TorchError) {
        try state.load(namedState, parameters: parameters)
        self.stepCount = stepCount
    }
}
