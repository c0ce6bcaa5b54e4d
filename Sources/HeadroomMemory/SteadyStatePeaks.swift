public import HeadroomModels
public import Torch

/// Peaks as training will see them, step after step, not as a first step sees them.
///
/// The first step at a new shape can carry one-time allocations: kernel primitives made,
/// weights reordered, workspaces and caches chosen (oneDNN on a CPU, cuDNN on a GPU), none of
/// which later steps repeat. Until the machine has shown that a second step at a shape peaks
/// where its first did, every size is measured twice and the second kept, an out-of-memory
/// first step included (it may have failed on the one-time bytes alone). Once shown, one step
/// a size: where kernels make nothing per shape, planning costs one extra step per session.
public final class SteadyStatePeaks {
    public let measurer: any StepPeakMeasuring
    /// Whether a repeated step has peaked where its first did.
    public private(set) var isSettled = false
    /// Two peaks this close are the same peak (allocator rounding, a scalar or two).
    static let agreement = 64 << 10

    public init(_ measurer: any StepPeakMeasuring) {
        self.measurer = measurer
    }

    /// The steady-state peak of one step (nil: it ran out of memory, twice when unsettled).
    public func peak(
        batch: Int, resolution: Int, gradientsPresent: Bool, recomputing segments: Set<ResNet.Segment>,
        streaming: ResNet.Streaming?
    ) throws(TorchError) -> Int? {
        func measure() throws(TorchError) -> Int? {
            try measurer.peak(
                batch: batch, resolution: resolution, gradientsPresent: gradientsPresent, recomputing: segments, streaming: streaming)
        }
        let first = try measure()
        if isSettled { return first }
        let second = try measure()
        if let first, let second, abs(first - second) <= Self.agreement { isSettled = true }
        return second
    }
}
