public import Torch

/// The rectifier as a layer (PyTorch's `nn.ReLU`; `inPlace` as its `inplace=True`).
public final class ReLU: UnaryLayer {
    public let inPlace: Bool
    public var isTraining = true

    public init(inPlace: Bool = false) { self.inPlace = inPlace }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        guard inPlace else { return try input.relu() }
        try input.reluInPlace()
        return input
    }
}

/// 2-D max pooling as a layer.
public final class MaxPool2d: UnaryLayer {
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public var isTraining = true

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        try input.maxPool2d(kernelSize: (kernelSize, kernelSize), stride: (stride, stride), padding: (padding, padding))
    }
}

/// Average pooling to a fixed output size as a layer.
public final class AdaptiveAvgPool2d: UnaryLayer {
    public let outputSize: (Int, Int)
    public var isTraining = true

    public init(outputSize: (Int, Int)) { self.outputSize = outputSize }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        try input.adaptiveAvgPool2d(outputSize: outputSize)
    }
}

/// Layers applied in order; children are named "0", "1", … as in PyTorch.
public final class Sequential: UnaryLayer {
    public let layers: [any UnaryLayer]
    public var isTraining = true

    public init(_ layers: [any UnaryLayer]) { self.layers = layers }

    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { (String($0.offset), $0.element as any Module) }
    }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        var x = input
        for layer in layers { x = try layer(x) }
        return x
    }
}

/// Flattens every dimension from `startDimension` on (PyTorch's `nn.Flatten`).
public final class Flatten: UnaryLayer {
    public let startDimension: Int
    public var isTraining = true

    public init(startDimension: Int = 1) { self.startDimension = startDimension }

    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        try input.flattened(from: startDimension)
    }
}
