public import Torch

/// 2-D convolution, PyTorch's `nn.Conv2d`, with its default initialisation.
public final class Conv2d: UnaryLayer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int
    public var isTraining = true

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: Generator? = nil
    ) throws(TorchError) {
        guard inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw .invalidArgument("channels \(inputChannels)→\(outputChannels) do not divide into \(groups) groups")
        }
        let fanIn = inputChannels / groups * kernelSize * kernelSize
        weight = try Tensor.empty([outputChannels, inputChannels / groups, kernelSize, kernelSize])
        self.bias = bias ? try Tensor.empty([outputChannels]) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.dilation = (dilation, dilation)
        self.groups = groups
        try resetParameters(fanIn: fanIn, generator: generator)
        try weight.requiringGradient()
        try self.bias?.requiringGradient()
    }

    /// PyTorch's default: kaiming_uniform_(a=√5) for the weight, i.e. U(−1/√fan_in, 1/√fan_in),
    /// and the same bound for the bias.
    func resetParameters(fanIn: Int, generator: Generator?) throws(TorchError) {
        let bound = 1 / Double(fanIn).squareRoot()
        try weight.uniformInPlace(low: -bound, high: bound, generator: generator)
        try bias?.uniformInPlace(low: -bound, high: bound, generator: generator)
    }

    public var parameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        try input.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}
