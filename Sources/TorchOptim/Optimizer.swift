public import Torch

/// Updates parameters from their accumulated gradients.
///
/// The per-parameter state (momentum, Adam's moments) is exposed by name so a checkpoint
/// can save it and a resumed run continue exactly: "<parameter index>.<PyTorch state key>".
public protocol Optimizer: AnyObject {
    /// The tensors this optimiser updates, in a fixed order.
    var parameters: [Tensor] { get }
    /// The learning rate of the next step; schedules set it before each step.
    var learningRate: Double { get set }
    /// Steps taken so far.
    var stepCount: Int { get }
    /// One update from the current gradients; parameters without a gradient are skipped.
    func step() throws(TorchError)
    /// The optimiser's state tensors by name, for checkpoints.
    func namedState() -> [(name: String, tensor: Tensor)]
    /// Restores state saved by `namedState()` (and the step count).
    func load(namedState: [String: Tensor], stepCount: Int) throws(TorchError)
}

extension Optimizer {
    /// Drops every gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() throws(TorchError) {
        for parameter in parameters { try parameter.setGrad(nil) }
    }
}

/// Per-parameter state tensors, created lazily on the first step as PyTorch does.
struct ParameterState {
    private(set) var buffers: [[String: Tensor]]

    init(count: Int) { buffers = Array(repeating: [:], count: count) }

    /// The named buffer of parameter `index`, created by `make` the first time.
    mutating func buffer(_ name: String, of index: Int, make: () throws(TorchError) -> Tensor) throws(TorchError) -> Tensor {
        if let existing = buffers[index][name] { return existing }
        let created = try make()
        buffers[index][name] = created
        return created
    }

    /// One weight decay per parameter: `given`, or `default` for all.
    static func weightDecays(_ given: [Double]?, default value: Double, count: Int) throws(TorchError) -> [Double] {
        guard let given else { return Array(repeating: value, count: count) }
        guard given.count == count else {
            throw .invalidArgument("\(given.count) weight decays for \(count) parameters: give one per parameter")
        }
        return given
    }

    func named() -> [(name: String, tensor: Tensor)] {
        buffers.enumerated().flatMap { index, named in
            named.keys.sorted().map { ("\(index).\($0)", named[$0]!) }
        }
    }

    /// Replaces the state with `state`. The old buffers are dropped before the new ones are
    /// made, so the two never coexist: under a tight memory budget (the planner restoring its
    /// snapshot) that is the difference between fitting and an out-of-memory error.
    mutating func load(_ state: [String: Tensor], parameters: [Tensor]) throws(TorchError) {
        var entries: [(index: Int, name: String, tensor: Tensor)] = []
        for (key, tensor) in state {
            let parts = key.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let index = Int(parts[0]), parameters.indices.contains(index) else {
                throw .invalidArgument("optimizer state key \(key) names no parameter")
            }
            entries.append((index, String(parts[1]), tensor))
        }
        buffers = Array(repeating: [:], count: parameters.count)
        for entry in entries {
            buffers[entry.index][entry.name] = try laidOutLike(parameters[entry.index], entry.tensor)
        }
    }

    /// `value` on the parameter's device and, when it has the parameter's shape, in its
    /// memory layout: the fused kernels walk parameter, gradient and state in step, so a
    /// contiguous state read from a file beside a channels-last weight would update the
    /// wrong elements.
    private func laidOutLike(_ parameter: Tensor, _ value: Tensor) throws(TorchError) -> Tensor {
        guard value.shape == parameter.shape else { return try value.to(device: parameter.device) }
        let target = try Tensor.zeros(like: parameter)
        try target.copyInPlace(from: value)
        return target
    }
}
