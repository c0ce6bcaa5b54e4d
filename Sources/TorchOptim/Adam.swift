public import Torch

/// Adam, and AdamW when `decoupledWeightDecay` is set, with the same update as PyTorch's
/// `torch.optim.Adam` / `torch.optim.AdamW` (bias-corrected moments, ε outside the root).
public final class Adam: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let weightDecay: Double
    /// Each parameter's weight decay (see `SGD.weightDecays`).
    public let weightDecays: [Double]
    /// AdamW: decay the weights directly instead of adding the decay to the gradient.
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private var state: ParameterState

    public init(
        parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 0, weightDecays: [Double]? = nil, decoupledWeightDecay: Bool = false
    ) throws(TorchError) {
        guard learningRate >= 0, epsilon >= 0, weightDecay >= 0, (weightDecays ?? []).allSatisfy({ $0 >= 0 }),
            (0..<1).contains(betas.0), (0..<1).contains(betas.1)
        else {
            throw .invalidArgument("Adam needs lr, ε, weight decay ≥ 0 and betas in [0, 1)")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.weightDecays = try ParameterState.weightDecays(weightDecays, default: weightDecay, count: parameters.count)
        self.decoupledWeightDecay = decoupledWeightDecay
        state = ParameterState(count: parameters.count)
    }

    /// AdamW as PyTorch defines it (weight decay 0.01 by default).
    public static func adamW(
        parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2, weightDecays: [Double]? = nil
    ) throws(TorchError) -> Adam {
        try Adam(
            parameters: parameters, learningRate: learningRate, betas: betas, epsilon: epsilon,
            weightDecay: weightDecay, weightDecays: weightDecays, decoupledWeightDecay: true)
    }

    /// The update, in place, through libtorch's fused Adam/AdamW kernel (one pass per
    /// tensor). The moments and step counters of a first step are allocated before anything
    /// changes, so an out-of-memory error leaves the parameters as they were.
    public func step() throws(TorchError) {
        let active = parameters.enumerated().compactMap { index, parameter in parameter.grad.map { (index, parameter, $0) } }
        var averages: [Tensor] = []
        var squaredAverages: [Tensor] = []
        var steps: [Tensor] = []
        for (index, parameter, _) in active {
            let zeros = { () throws(TorchError) -> Tensor in try Tensor.zeros(like: parameter) }
            averages.append(try state.buffer("exp_avg", of: index, make: zeros))
            squaredAverages.append(try state.buffer("exp_avg_sq", of: index, make: zeros))
            // PyTorch keeps each parameter's step as a float scalar beside it.
            steps.append(try state.buffer("step", of: index) { () throws(TorchError) in
                try Tensor.zeros([], dtype: .float32, device: parameter.device)
            })
        }
        try withoutGradient { () throws(TorchError) in
            for step in steps { try step += 1 }
            // One fused call per weight decay (PyTorch's parameter groups).
            let decays = active.map { weightDecays[$0.0] }
            for decay in Set(decays).sorted() {
                let members = decays.indices.filter { decays[$0] == decay }
                try Tensor.fusedAdamStep(
                    parameters: members.map { active[$0].1 }, gradients: members.map { active[$0].2 },
                    averages: members.map { averages[$0] }, squaredAverages: members.map { squaredAverages[$0] },
                    steps: members.map { steps[$0] }, learningRate: learningRate, betas: (beta1, beta2), weightDecay: decay,
                    epsilon: epsilon, decoupledWeightDecay: decoupledWeightDecay)
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
