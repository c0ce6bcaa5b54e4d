public import HeadroomExecution
public import HeadroomModels
public import Torch

/// What the batch planner asks of a training step: the peak bytes of one step at a shape.
///
/// ``MemoryProbe`` answers with real steps under the budget; a test can script the answers
/// (one-time allocations, curves that are not straight lines, failures) and so test the
/// planner's decisions apart from how any machine's kernels spend memory.
public protocol StepPeakMeasuring: AnyObject {
    /// The network the steps train (for the compute a plan's recomputation costs).
    var model: ResNet { get }
    var device: Device { get }
    var precision: Precision { get }
    /// Bytes an accumulating step holds that one micro-batch does not (the gradients).
    var accumulationBytes: Int { get }

    /// The peak bytes of one step at `batch` × `resolution`², or nil when it ran out of memory.
    func peak(
        batch: Int, resolution: Int, gradientsPresent: Bool, recomputing segments: Set<ResNet.Segment>,
        streaming: ResNet.Streaming?
    ) throws(TorchError) -> Int?

    /// Bytes no step of one sample at `resolution` can do without, however it is cut.
    func floorBytes(resolution: Int) throws(TorchError) -> Int
}
