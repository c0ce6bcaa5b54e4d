public import Torch

/// A piece of a network that owns tensors, in PyTorch's sense of `nn.Module`.
///
/// A module lists its own parameters, buffers and children in registration order; the
/// extension below walks that tree to give the flat, dotted names of a PyTorch
/// `state_dict()` (`layer1.0.conv1.weight`) in the same order: each module's parameters,
/// then its buffers, then its children's entries.
public protocol Module: AnyObject {
    /// This module's own trainable tensors, by name.
    var parameters: [(name: String, tensor: Tensor)] { get }
    /// This module's own non-trainable state (BatchNorm's running statistics), by name.
    var buffers: [(name: String, tensor: Tensor)] { get }
    /// Sub-modules, by name.
    var children: [(name: String, module: any Module)] { get }
    /// Training or evaluation behaviour (BatchNorm uses batch or running statistics).
    var isTraining: Bool { get set }
}

extension Module {
    public var parameters: [(name: String, tensor: Tensor)] { [] }
    public var buffers: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] { [] }
}

/// A module applied to one tensor.
public protocol UnaryLayer: Module {
    func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor
}

extension Module {
    /// Every parameter in the tree with its dotted name, in `state_dict` order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        walk(prefix: "") { module in module.parameters }
    }

    /// Every buffer in the tree with its dotted name.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        walk(prefix: "") { module in module.buffers }
    }

    /// Parameters and buffers with PyTorch's `state_dict()` names and order.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        walk(prefix: "") { module in module.parameters + module.buffers }
    }

    /// Every module in the tree with its dotted name ("" for this one), parents first.
    public func namedModules() -> [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = [("", self)]
        for (name, child) in children {
            result += child.namedModules().map { (dotted(name, $0.name), $0.module) }
        }
        return result
    }

    private func walk(
        prefix: String, _ own: (any Module) -> [(name: String, tensor: Tensor)]
    ) -> [(name: String, tensor: Tensor)] {
        var result = own(self).map { (prefix + $0.name, $0.tensor) }
        for (name, child) in children {
            result += child.walk(prefix: prefix + name + ".", own)
        }
        return result
    }

    /// Switches the whole tree to training (or evaluation) behaviour.
    public func train(_ training: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = training }
    }

    /// Switches the whole tree to evaluation behaviour.
    public func eval() { train(false) }

    /// Drops every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() throws(TorchError) {
        for (_, parameter) in namedParameters() { try parameter.setGrad(nil) }
    }

    /// Moves every parameter and buffer to `device` and/or `dtype` (buffers keep integer
    /// types), keeping the tensors' identities so optimisers still hold them.
    public func move(to device: Device? = nil, dtype: DType? = nil) throws(TorchError) {
        for (_, tensor) in stateDict() {
            let floatTarget = tensor.dtype.isFloatingPoint ? dtype : nil
            try tensor.setData(tensor.to(device: device, dtype: floatTarget))
        }
    }

    /// Lays out every 4-D parameter and buffer in `format` (channels-last for faster convolutions).
    public func setMemoryFormat(_ format: MemoryFormat) throws(TorchError) {
        for (_, tensor) in stateDict() where tensor.rank == 4 {
            try tensor.setData(tensor.contiguous(format))
        }
    }

    /// Number of trainable elements.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }
}

func dotted(_ parent: String, _ child: String) -> String {
    child.isEmpty ? parent : parent + "." + child
}
