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
    /// AdamW: decay the weights directly instead of adding the decay to the gradient.
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private var state: ParameterState

    public init(
        parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false
    ) throws(TorchError) {
        guard learningRate >= 0, epsilon >= 0, weightDecay >= 0,
            (0..<1).contains(betas.0), (0..<1).contains(betas.1)
        else {
            throw .invalidArgument("Adam needs lr, ε, weight decay ≥ 0 and betas in [0, 1)")
        }
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        state = ParameterState(count: parameters.count)
    }

    /// AdamW as PyTorch defines it (weight decay 0.01 by default).
    public static func adamW(
        parameters: [Tensor], learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
        epsilon: Double = 1e-8, weightDecay: Double = 1e-2
    ) throws(TorchError) -> Adam {
        try Adam(
            parameters: parameters, learningRate: learningRate, betas: betas, epsilon: epsilon,
            weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// The update, in place. The moment buffers of a first step are allocated before the
    /// first parameter changes, so an out-of-memory error leaves the parameters as they
    /// were; each gradient's storage is reused for the denominator (gradients are dropped
    /// after a step).
    public func step() throws(TorchError) {
        let step = Double(stepCount + 1)
        let biasCorrection1 = 1 - wholePower(beta1, step)
        let biasCorrection2 = 1 - wholePower(beta2, step)
        let active = parameters.enumerated().compactMap { index, parameter in parameter.grad.map { (index, parameter, $0) } }
        var moments: [(average: Tensor, averageSquare: Tensor)] = []
        for (index, parameter, _) in active {
            let zeros = { () throws(TorchError) -> Tensor in
                try Tensor.zeros(like: parameter)
            }
            moments.append((try state.buffer("exp_avg", of: index, make: zeros), try state.buffer("exp_avg_sq", of: index, make: zeros)))
        }
        try withoutGradient { () throws(TorchError) in
            for ((_, parameter, gradient), (average, averageSquare)) in zip(active, moments) {
                if weightDecay != 0 {
                    if decoupledWeightDecay {
                        try parameter *= 1 - learningRate * weightDecay
                    } else {
                        try gradient.addInPlace(parameter, alpha: weightDecay)
                    }
                }
                try average *= beta1
                try average.addInPlace(gradient, alpha: 1 - beta1)
                try averageSquare *= beta2
                try averageSquare.addcmulInPlace(gradient, gradient, value: 1 - beta2)
                // denominator = √v / √(1 − β₂ᵗ) + ε, built in the gradient's storage.
                let denominator = gradient
                try denominator.copyInPlace(from: averageSquare)
                try denominator.sqrtInPlace()
                try denominator /= biasCorrection2.squareRoot()
                try denominator += epsilon
                try parameter.addcdivInPlace(average, denominator, value: -learningRate / biasCorrection1)
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

/// base^exponent for a whole-number exponent (the step count), by squaring.
private func wholePower(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var factor = base
    var n = Int(exponent)
    while n > 0 {
        if n & 1 == 1 { result *= factor }
        factor *= factor
        n >>= 1
    }
    return result
}
