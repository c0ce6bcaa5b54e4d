public import HeadroomExecution
public import HeadroomModels
public import Torch

/// The one owner of a run's memory: the limit (budget and headroom), the plan and the
/// recovery policy of each resolution, and the segments each step recomputes. It alone sets
/// the device's budget. The trainer asks it what to run; a checkpoint saves what it holds,
/// and a resumed run keeps only what was fitted to the limit in force now.
public final class MemoryController {
    public let device: Device
    public let limit: MemoryLimit
    public let settings: Settings
    /// The samples of one optimiser step on this process (its share when data-parallel).
    public let effectiveBatch: Int
    public private(set) var plans: [Int: ResolutionPlan] = [:]
    public private(set) var policies: [Int: MicroBatchPolicy] = [:]
    /// Told of every step planning measures (see ``MemoryProbe/onStep``).
    public var onProbedStep: ((ProbedStep) -> Void)?
    /// Validation's passes at each resolution, kept between epochs.
    private var validationPasses: [Int: ForwardPassMemory] = [:]

    /// How the plans are made and kept.
    public struct Settings: Sendable {
        public var checkpointing: ActivationCheckpointing = .off
        /// Streaming, above checkpointing every segment.
        public var streaming: StreamingChoice = .off
        /// Streaming in validation's passes, which need no batch statistics (so --sync-bn allows it).
        public var validationStreaming: StreamingChoice = .off
        /// Below this micro-batch, `auto` checkpointing is tried before the smaller batch.
        public var minimumMicroBatch = 8
        /// A micro-batch to use instead of planning one (tests, debugging).
        public var forcedMicroBatch: Int?
        /// Clean steps below the planned micro-batch before growing back.
        public var growthPatience = 200
        public var pressure: MemoryPressure?
        /// Host bytes each sample holds in the loader's queue at a resolution: they count
        /// against a CPU budget (nothing on a GPU's).
        public var prefetchBytesPerSample: @Sendable (Int) -> Int = { _ in 0 }
        /// Host bytes the loader's workers hold while decoding, whatever the batch: they
        /// count against a CPU budget too.
        public var decodingBytes = 0

        public init() {}
    }

    public init(device: Device, limit: MemoryLimit, effectiveBatch: Int, settings: Settings = Settings()) {
        self.device = device
        self.limit = limit
        self.effectiveBatch = effectiveBatch
        self.settings = settings
    }

    // MARK: - The device's budget

    /// Sets the allocator's budget (nil: none) on `device`: the one place that does.
    static func setDeviceBudget(_ bytes: Int?, on device: Device) throws(TorchError) {
        try device.setMemoryBudget(bytes: bytes)
    }

    /// The budget in force at optimiser step `step`: the limit's, less any simulated
    /// tenant's share (per process: each rank's budget is its own).
    public func enforce(atStep step: Int = 0) throws(TorchError) {
        var bytes = limit.budgetBytes
        if let pressure = settings.pressure, pressure.isActive(atStep: step) { bytes = max(1, bytes - pressure.bytes) }
        try Self.setDeviceBudget(bytes, on: device)
    }

    // MARK: - Plans

    /// The plan of `resolution`: the one kept, a forced one, or one planned now with real
    /// steps of `step` (`isNew` then). The device's budget is in force afterwards.
    public func plan(for resolution: Int, step: TrainingStep) throws -> (plan: ResolutionPlan, isNew: Bool) {
        if let kept = plans[resolution], policies[resolution] != nil { return (kept, false) }
        let plan: ResolutionPlan
        if let forced = settings.forcedMicroBatch {
            plan = forcedPlan(resolution: resolution, microBatch: min(forced, effectiveBatch), step: step)
        } else {
            var planner = BatchPlanner(limit: limit, effectiveBatch: effectiveBatch, settings: settings)
            planner.onProbedStep = onProbedStep
            plan = try planner.plan(resolutions: [resolution], step: step)[0]
        }
        plans[resolution] = plan
        policies[resolution] = MicroBatchPolicy(
            plannedBatch: plan.microBatch, effectiveBatch: effectiveBatch,
            model: settings.forcedMicroBatch == nil ? plan.model : nil, limit: limit, patience: settings.growthPatience,
            minimumBatch: step.model.smallestTrainingBatch(resolution: resolution))
        return (plan, true)
    }

    private func forcedPlan(resolution: Int, microBatch: Int, step: TrainingStep) -> ResolutionPlan {
        var plan = ResolutionPlan(
            resolution: resolution, microBatch: microBatch,
            accumulation: AccumulationPlan(effectiveBatch: effectiveBatch, microBatch: microBatch),
            predictedPeakBytes: 0, verifiedPeakBytes: 0, budgetBytes: limit.budgetBytes,
            model: MemoryModel(fixedBytes: 0, bytesPerSample: 0), measurements: [])
        if case .segments(let segments) = settings.checkpointing {
            plan.checkpointedSegments = segments.sorted()
        }
        if settings.streaming != .auto, let streaming = settings.streaming.ladder(inputRows: resolution).first {
            plan.checkpointedSegments = ResNet.Segment.allCases
            plan.streaming = streaming
        }
        plan.predictCompute(of: step.model)
        return plan
    }

    // MARK: - What each step runs

    /// The micro-batch the next step at `resolution` runs (after `plan(for:step:)`).
    public func microBatch(at resolution: Int) -> Int {
        policies[resolution]?.currentBatch ?? plans[resolution]?.microBatch ?? effectiveBatch
    }

    /// The segments steps at `resolution` recompute in backward.
    public func recomputed(at resolution: Int) -> Set<ResNet.Segment> {
        Set(plans[resolution]?.checkpointedSegments ?? [])
    }

    /// How steps at `resolution` stream the start of the network, if they do.
    public func streaming(at resolution: Int) -> ResNet.Streaming? { plans[resolution]?.streaming }

    /// The policy of validation's passes at `resolution`, on the same ladder as the steps:
    /// first made with twice the largest micro-batch in use (a pass without gradients holds
    /// less than a step; at most 128), streaming as `validationStreaming` allows, then kept,
    /// so an epoch starts where the last one's validation ended.
    public func validationMemory(at resolution: Int) -> ForwardPassMemory {
        if let kept = validationPasses[resolution] { return kept }
        let made = ForwardPassMemory(
            batchSize: min(128, 2 * (largestMicroBatch ?? effectiveBatch)), streaming: settings.validationStreaming)
        validationPasses[resolution] = made
        return made
    }

    /// The largest micro-batch in use at any resolution, if any is planned.
    public var largestMicroBatch: Int? { policies.values.map(\.currentBatch).max() }

    /// What to do after a step at `resolution` ran out of memory with micro-batches of
    /// `microBatch`.
    public enum Response: Sendable, Equatable {
        /// Run the step again in micro-batches of this size.
        case smallerMicroBatch(Int)
        /// One sample did not fit: run it again recomputing these segments.
        case recompute(Set<ResNet.Segment>)
        /// One sample did not fit with every segment recomputed: run it again streaming.
        case stream(ResNet.Streaming)
        /// Nothing smaller or more recomputed is left to try.
        case none
    }

    /// Records an out-of-memory error and says what to try next; under `auto`
    /// checkpointing, one sample that does not fit climbs the ladder (kept in the plan, so
    /// later epochs and a resume start from it).
    public func recordOutOfMemory(at resolution: Int, microBatch: Int, step: TrainingStep) -> Response {
        guard var policy = policies[resolution] else { return .none }
        defer { policies[resolution] = policy }
        if let next = policy.recordOutOfMemory(at: microBatch) { return .smallerMicroBatch(next) }
        let current = recomputed(at: resolution)
        guard var plan = plans[resolution] else { return .none }
        if settings.checkpointing == .auto, plan.streaming == nil,
            let rung = ActivationCheckpointing.ladder.first(where: { $0.isStrictSuperset(of: current) })
        {
            plan.checkpointedSegments = rung.sorted()
            plan.predictCompute(of: step.model)
            plans[resolution] = plan
            return .recompute(rung)
        }
        // Streaming's ladder, from the rung after the current one (`auto` streaming climbs
        // only behind `auto` checkpointing; a forced choice always may).
        let streams = settings.streaming == .auto ? settings.checkpointing == .auto : true
        guard streams, let rung = settings.streaming.rung(after: plan.streaming, inputRows: resolution) else { return .none }
        plan.checkpointedSegments = ResNet.Segment.allCases
        plan.streaming = rung
        plan.predictCompute(of: step.model)
        plans[resolution] = plan
        return .stream(rung)
    }

    /// Records a clean optimiser step at `resolution` (`allocationRetries`: the CUDA
    /// allocator's running count, nil on CPU); the policy may grow back or step down.
    public func recordCleanStep(at resolution: Int, allocationRetries: Int?) {
        _ = policies[resolution]?.recordCleanStep(allocationRetries: allocationRetries)
    }

    // MARK: - Checkpoints

    /// Puts back saved plans and policies, keeping only those fitted to this limit: a
    /// resolution planned under another budget or headroom is planned again when its stage
    /// starts. Returns the resolutions dropped.
    @discardableResult
    public func restore(plans saved: [ResolutionPlan], policies savedPolicies: [Int: MicroBatchPolicy]) -> [Int] {
        var dropped: [Int] = []
        for plan in saved {
            guard plan.budgetBytes == limit.budgetBytes, savedPolicies[plan.resolution].map({ $0.limit == limit }) ?? true else {
                dropped.append(plan.resolution)
                continue
            }
            plans[plan.resolution] = plan
            if let policy = savedPolicies[plan.resolution] { policies[plan.resolution] = policy }
        }
        return dropped.sorted()
    }
}
