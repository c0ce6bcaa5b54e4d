public import Torch

/// Data-parallel: the optimiser step ran out of memory after the gradients were already
/// all-reduced; repeating the step would repeat the collective, so the run stops.
public struct OutOfMemoryAfterAllReduce: Error, CustomStringConvertible {
    public var underlying: TorchError
    public var description: String {
        "the optimiser step ran out of memory after the gradient all-reduce (\(underlying)); the ranks cannot repeat the "
            + "step together, so the run stops. Resume from the last checkpoint with a larger --memory-budget"
    }
}
