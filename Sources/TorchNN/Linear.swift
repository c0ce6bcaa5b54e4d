public import Torch

/// A fully connected layer, PyTorch's `nn.Linear`, with its default initialisation.
public final class Linear: UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public var isTraining = true

    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true, generator: Generator? = nil) throws(TorchError) {
        weight = try Tensor.empty([outputFeatures, inputFeatures])
        self.bias = bias ? try Tensor.empty([outputFeatures]) : nil
        try resetParameters(generator: generator)
        try weight.requiringGradient()
        try self.bias?.requiringGradient()
    }

    /// PyTorch's default: U(−1/√in, 1/√in) for weight and bias.
    public func resetParameters(generator: Generator? = nil) throws(TorchError) {
        try withoutGradient { () throws(TorchError) in
            let bound = 1 / Double(weight.shape[1]).squareRoot()
            try weight.uniformInPlace(low: -bound, high: bound, generator: generator)
            try bias?.uniformInPlace(low: -bound, high: bound, generator: generator)
        }
    }

    public var parameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        try input.linear(weight: weight, bias: bias)
    }
}
