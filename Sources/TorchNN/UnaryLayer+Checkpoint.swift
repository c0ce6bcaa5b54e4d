public import Torch

extension UnaryLayer {
    /// This layer applied to `input` with its activations recomputed in backward instead of
    /// kept (see ``Torch/checkpoint(_:parameters:_:)``): memory for compute.
    public func checkpointed(_ input: Tensor) throws(TorchError) -> Tensor {
        let trainable = namedParameters().map(\.tensor).filter(\.requiresGradient)
        return try checkpoint(input, parameters: trainable) { [self] (x) throws(TorchError) in try self(x) }
    }
}
