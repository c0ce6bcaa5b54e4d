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
///
/// A step that runs out of memory before that is shown is not repeated at its own size (a
/// large step can take seconds to fail, and planning a large image fails several): two
/// steps of one sample at ``settlingResolution`` ask the question instead, and only where
/// they disagree is the failed step repeated. Assuming the steady state where it is not can
/// only overstate a peak (one-time bytes add), so a plan errs towards less memory, never more.
public final class SteadyStatePeaks {
    public let measurer: any StepPeakMeasuring
    /// Whether a repeated step has peaked where its first did.
    public private(set) var isSettled = false
    /// Whether the small pair has been run (it is run once a session).
    private var triedSettling = false
    /// Two peaks this close are the same peak (allocator rounding, a scalar or two).
    static let agreement = 64 << 10
    /// The size of the pair that settles the question when a large step fails: every kernel
    /// a step runs, at a small fraction of a large step's time.
    static let settlingResolution = 256

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
        if first == nil, resolution > Self.settlingResolution, try settle() { return nil }
        let second = try measure()
        record(first, second)
        return second
    }

    /// Two plain steps of one sample at the settling size, once a session; whether they agreed.
    private func settle() throws(TorchError) -> Bool {
        guard !triedSettling else { return isSettled }
        triedSettling = true
        let size = Self.settlingResolution
        let batch = measurer.model.smallestTrainingBatch(resolution: size)
        func measure() throws(TorchError) -> Int? {
            try measurer.peak(batch: batch, resolution: size, gradientsPresent: false, recomputing: [], streaming: nil)
        }
        let first = try measure()
        record(first, try measure())
        return isSettled
    }

    /// Two steps at one shape agreeing settles the question.
    private func record(_ first: Int?, _ second: Int?) {
        if let first, let second, abs(first - second) <= Self.agreement { isSettled = true }
    }
}
