public import HeadroomExecution
public import HeadroomModels
import Torch

/// The micro-batch plan for one resolution, with the measurements behind it.
public struct ResolutionPlan: Sendable, Codable, Equatable {
    public var resolution: Int
    public var microBatch: Int
    public var accumulation: AccumulationPlan
    /// What the fitted model predicts for `microBatch`.
    public var predictedPeakBytes: Int
    /// What the verifying step measured at `microBatch`.
    public var verifiedPeakBytes: Int
    public var budgetBytes: Int
    public var model: MemoryModel
    /// The segments the model recomputes in backward at this resolution (none when empty).
    public var checkpointedSegments: [ResNet.Segment] = []
    /// The start of the network computed in bands at this resolution (none when nil).
    public var streaming: ResNet.Streaming?
    /// The extra compute recomputing and streaming cost, as a fraction of a step (predicted
    /// from the model's multiply-adds).
    public var recomputeOverhead = 0.0
    /// Where streaming runs statistics passes (BatchNorm on batch statistics): what
    /// `recomputeOverhead` would be with BatchNorm frozen, a choice that changes training and
    /// so is the user's (`--freeze-bn`); nil otherwise.
    public var frozenBatchNormOverhead: Double?
    /// When `auto` checkpointing chose segments: the largest micro-batch without any
    /// (0 when not even one sample fitted), the reason it climbed.
    public var uncheckpointedMicroBatch: Int?
    /// Every step measured while planning: (batch, peak bytes or nil for out of memory).
    public var measurements: [Measurement]

    public struct Measurement: Sendable, Codable, Equatable {
        public var batch: Int
        public var peakBytes: Int?
        /// Whether the step ran with the gradients already held, as an accumulating step's
        /// later micro-batches do: such a step can peak above a larger one that holds none.
        public var gradientsHeld = false

        public init(batch: Int, peakBytes: Int?, gradientsHeld: Bool = false) {
            self.batch = batch
            self.peakBytes = peakBytes
            self.gradientsHeld = gradientsHeld
        }

        /// Plans saved before the flag was recorded say nothing of it.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            batch = try container.decode(Int.self, forKey: .batch)
            peakBytes = try container.decodeIfPresent(Int.self, forKey: .peakBytes)
            gradientsHeld = try container.decodeIfPresent(Bool.self, forKey: .gradientsHeld) ?? false
        }
    }
}

extension ResolutionPlan {
    /// Plans saved before activation checkpointing existed recompute nothing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        resolution = try container.decode(Int.self, forKey: .resolution)
        microBatch = try container.decode(Int.self, forKey: .microBatch)
        accumulation = try container.decode(AccumulationPlan.self, forKey: .accumulation)
        predictedPeakBytes = try container.decode(Int.self, forKey: .predictedPeakBytes)
        verifiedPeakBytes = try container.decode(Int.self, forKey: .verifiedPeakBytes)
        budgetBytes = try container.decode(Int.self, forKey: .budgetBytes)
        model = try container.decode(MemoryModel.self, forKey: .model)
        checkpointedSegments = try container.decodeIfPresent([ResNet.Segment].self, forKey: .checkpointedSegments) ?? []
        streaming = try container.decodeIfPresent(ResNet.Streaming.self, forKey: .streaming)
        recomputeOverhead = try container.decodeIfPresent(Double.self, forKey: .recomputeOverhead) ?? 0
        frozenBatchNormOverhead = try container.decodeIfPresent(Double.self, forKey: .frozenBatchNormOverhead)
        uncheckpointedMicroBatch = try container.decodeIfPresent(Int.self, forKey: .uncheckpointedMicroBatch)
        // A plan read for a report may leave its measurements out.
        measurements = try container.decodeIfPresent([Measurement].self, forKey: .measurements) ?? []
    }

    /// Predicts the extra compute of the plan's recomputed segments and streaming (and, where
    /// streaming runs statistics passes, what it would be with BatchNorm frozen).
    mutating func predictCompute(of model: ResNet) {
        let segments = Set(checkpointedSegments)
        recomputeOverhead = model.recomputeOverhead(of: segments, streaming: streaming, resolution: resolution)
        let frozen = streaming.map {
            model.recomputeOverhead(of: segments, streaming: $0, resolution: resolution, assumingFrozenBatchNorm: true)
        }
        frozenBatchNormOverhead = frozen.flatMap { $0 < recomputeOverhead ? $0 : nil }
    }
}

/// Why a plan is impossible, with what would help.
public struct PlanningError: Error, CustomStringConvertible {
    public var resolution: Int
    public var estimatedBytes: Int?
    public var budgetBytes: Int
    public var suggestions: [String]

    public var description: String {
        let estimate = estimatedBytes.map { "needs about \(formatBytes($0))" } ?? "does not fit"
        return "one sample at \(resolution)×\(resolution) px \(estimate), but the budget is \(formatBytes(budgetBytes)). "
            + "What would help: " + suggestions.joined(separator: "; ")
    }
}

/// Chooses, for each resolution, the largest micro-batch that fits the limit.
///
/// For each resolution: two small probe steps, a straight-line fit
/// `peak(b) = fixed + b · perSample (+ the gradients when accumulating)`, the largest
/// b ≤ the effective batch whose prediction fits (``MemoryLimit/fits(_:)``), then one real
/// step at that b to verify it (refitting and retrying, at most three verification steps).
/// Every step runs as training would run it, gradients held or not, and is read in the
/// steady state (``SteadyStatePeaks``). A fit is decided by a measured step, never by the
/// line alone; where no accumulating micro-batch fits, the whole batch in one step (which
/// holds no gradients before its backward) is still considered before "not one sample".
public struct BatchPlanner {
    public var limit: MemoryLimit
    public var effectiveBatch: Int
    /// The run's memory settings, as the controller holds them (one struct, not copies of its fields).
    public var settings: MemoryController.Settings
    /// Told of every step the planner measures (see ``MemoryProbe/onStep``).
    public var onProbedStep: ((ProbedStep) -> Void)?
    public static let maximumVerifications = 3

    public init(limit: MemoryLimit, effectiveBatch: Int, settings: MemoryController.Settings = .init()) {
        self.limit = limit
        self.effectiveBatch = effectiveBatch
        self.settings = settings
    }

    public init(budgetBytes: Int, effectiveBatch: Int, headroom: Double = 0.1) {
        self.init(limit: MemoryLimit(budgetBytes: budgetBytes, headroom: headroom), effectiveBatch: effectiveBatch)
    }

    public var budgetBytes: Int { limit.budgetBytes }
    public var headroom: Double { limit.headroom }
    /// The usable bytes: the budget less the headroom.
    public var targetBytes: Int { limit.usableBytes }

    /// Plans every resolution (smallest first) with one probe session, under the budget (so
    /// probes fail as training would); the training state is restored afterwards whatever
    /// happens, and the budget left in force.
    public func plan(resolutions: [Int], step: TrainingStep) throws -> [ResolutionPlan] {
        guard let smallest = resolutions.min() else { return [] }
        let probe = try MemoryProbe(step: step, warmUpResolution: smallest, budgetBytes: budgetBytes)
        probe.onStep = onProbedStep
        defer { try? probe.finish() }
        let plans = try plan(resolutions: resolutions, measuring: probe)
        try probe.finish()
        return plans
    }

    /// Plans every resolution (smallest first) from the steps `measurer` measures.
    public func plan(resolutions: [Int], measuring measurer: any StepPeakMeasuring) throws -> [ResolutionPlan] {
        let peaks = SteadyStatePeaks(measurer)
        return try Array(Set(resolutions)).sorted().map { try plan(resolution: $0, peaks: peaks) }
    }

    /// The plan of one resolution, climbing the checkpointing ladder when `auto` asks, then
    /// streaming's (``planStreamed(resolution:peaks:depths:)``) when `auto` finds not one
    /// sample fits with every segment checkpointed (its compute is too dear for a larger
    /// micro-batch alone) or streaming is on.
    func plan(resolution: Int, peaks: SteadyStatePeaks) throws -> ResolutionPlan {
        let rungs: [Set<ResNet.Segment>]
        switch (settings.checkpointing, settings.streaming) {
        case (_, .on), (_, .through):
            return try planStreamed(resolution: resolution, peaks: peaks, depths: settings.streaming.depths)
        case (.off, _): rungs = [[]]
        case (.segments(let segments), _): rungs = [segments]
        case (.auto, _): rungs = [[]] + ActivationCheckpointing.ladder
        }
        let triedWithoutCheckpointing = rungs.first?.isEmpty ?? false
        let floor = min(settings.minimumMicroBatch, effectiveBatch)
        var best: ResolutionPlan?
        var firstFailure: (any Error)?
        var uncheckpointed = 0
        var top: ResolutionPlan?  // the ladder's top, planned early (below)
        var noneFits = false
        for segments in rungs where !noneFits {
            do {
                let early = segments == rungs.last ? top : nil
                var candidate = try early ?? plan(resolution: resolution, peaks: peaks, checkpointing: segments)
                if segments.isEmpty {
                    uncheckpointed = candidate.microBatch
                } else if triedWithoutCheckpointing {
                    // Why the ladder climbed; nothing to say where a flag put the run on this rung.
                    candidate.uncheckpointedMicroBatch = uncheckpointed
                }
                if candidate.microBatch >= floor || rungs.count == 1 { return candidate }
                if candidate.microBatch > best?.microBatch ?? 0 { best = candidate }
            } catch let error as PlanningError {
                firstFailure = firstFailure ?? error
                // Not one sample fits unrecomputed: the ladder's top (the least memory) next.
                // Where it fits none either, no rung between does, and their failed probes
                // would cost several full-size steps each.
                if segments.isEmpty, let last = rungs.last, rungs.count > 2 {
                    do {
                        top = try plan(resolution: resolution, peaks: peaks, checkpointing: last)
                    } catch let error as PlanningError {
                        firstFailure = firstFailure ?? error
                        noneFits = true
                    }
                }
            }
        }
        if best == nil, settings.checkpointing == .auto && settings.streaming == .auto {
            do {
                var streamed = try planStreamed(resolution: resolution, peaks: peaks, depths: StreamingChoice.auto.depths)
                if triedWithoutCheckpointing { streamed.uncheckpointedMicroBatch = uncheckpointed }
                return streamed
            } catch let error as PlanningError {
                firstFailure = firstFailure ?? error
            }
        }
        // Nothing reaches the floor: the largest micro-batch any rung gave, with the least
        // recomputed that gives it.
        if let best { return best }
        throw firstFailure ?? impossible(resolution: resolution, estimate: nil, measurer: peaks.measurer)
    }

    /// The plan of one resolution with `segments` recomputed and `streaming` in every probed step.
    func plan(
        resolution: Int, peaks: SteadyStatePeaks, checkpointing segments: Set<ResNet.Segment>, streaming: ResNet.Streaming? = nil,
        predicted: MemoryModel? = nil
    ) throws -> ResolutionPlan {
        // A streamed step takes several steps' time to fail: not worth it where nothing could fit.
        if streaming != nil, let floor = try? peaks.measurer.floorBytes(resolution: resolution), !limit.fits(floor) {
            throw impossible(resolution: resolution, estimate: floor, measurer: peaks.measurer)
        }
        var plan = try planMicroBatch(resolution: resolution, peaks: peaks, recomputing: segments, streaming: streaming, predicted: predicted)
        plan.checkpointedSegments = segments.sorted()
        plan.streaming = streaming
        plan.predictCompute(of: peaks.measurer.model)
        return plan
    }

    /// `predicted`: a line already predicted (streaming's, from steps at a smaller size): the
    /// first step is the micro-batch it predicts, and no second size is probed to draw one.
    func planMicroBatch(
        resolution: Int, peaks: SteadyStatePeaks, recomputing segments: Set<ResNet.Segment>, streaming: ResNet.Streaming? = nil,
        predicted: MemoryModel? = nil
    ) throws -> ResolutionPlan {
        let measurer = peaks.measurer
        let prefetch = measurer.device.isCUDA ? 0 : settings.prefetchBytesPerSample(resolution)
        let decoding = measurer.device.isCUDA ? 0 : settings.decodingBytes
        let accumulationBytes = Double(measurer.accumulationBytes)
        // A training BatchNorm needs more than one value per channel: no smaller micro-batch is a plan.
        let floor = min(measurer.model.smallestTrainingBatch(resolution: resolution), effectiveBatch)
        var measurements: [ResolutionPlan.Measurement] = []
        // Successful steps as (batch, peak without the held gradients).
        var bases: [(batch: Int, peak: Int)] = []
        var best: (batch: Int, peak: Int)?

        /// One real step of `batch` samples, holding the gradients before it starts as training's
        /// micro-batches of that size would (`holdingGradients` overrides, for a line's points).
        func measure(_ batch: Int, holdingGradients: Bool? = nil) throws -> Int? {
            let accumulating = batch < effectiveBatch
            let held = holdingGradients ?? accumulating
            let peak = try peaks.peak(
                batch: batch, resolution: resolution, gradientsPresent: held, recomputing: segments, streaming: streaming)
                .map { $0 + batch * prefetch + decoding }
            measurements.append(.init(batch: batch, peakBytes: peak, gradientsHeld: held))
            guard let peak else { return nil }
            bases.append((batch, peak - (held ? Int(accumulationBytes) : 0)))
            // Only a step run as training will run it can be chosen.
            if held == accumulating, batch >= floor, limit.fits(peak), batch > best?.batch ?? 0 { best = (batch, peak) }
            return peak
        }

        func fitted() -> MemoryModel? {
            let points = bases.sorted { $0.batch < $1.batch }
            guard let last = points.last, let previous = points.last(where: { $0.batch < last.batch }) else { return nil }
            return MemoryModel(fitting: previous, last, accumulationBytes: accumulationBytes)
        }

        // A small probe, falling back to the floor (one sample, mostly) when it does not fit.
        let first = predicted.map { max(floor, $0.largestBatch(within: targetBytes, effectiveBatch: effectiveBatch)) }
            ?? min(max(2, floor), effectiveBatch)
        func probeSmallest(holdingGradients: Bool? = nil) throws {
            if try measure(first, holdingGradients: holdingGradients) == nil, first > floor {
                _ = try measure(floor, holdingGradients: holdingGradients)
            }
        }
        try probeSmallest()
        // Accumulating micro-batches hold the gradients; the whole batch in one step does not
        // until its backward, and at low resolution it can fit where they do not. So where no
        // accumulating step fitted, the line is drawn from steps that hold none, and the
        // whole batch is tried when it predicts a fit.
        var probesHoldGradients = first < effectiveBatch
        if bases.isEmpty, probesHoldGradients, accumulationBytes > 0 {
            probesHoldGradients = false
            try probeSmallest(holdingGradients: false)
        }
        guard let firstBase = bases.first else {
            throw impossible(resolution: resolution, estimate: nil, measurer: measurer)
        }
        let second = min(2 * firstBase.batch, effectiveBatch)
        if second > firstBase.batch, predicted == nil {
            _ = try measure(second, holdingGradients: second < effectiveBatch && probesHoldGradients)
        }
        // With a single point, the predicted line's fixed bytes through it; without one,
        // assume everything scales with the batch (conservative).
        let fixed = predicted.map { min($0.fixedBytes, Double(firstBase.peak)) } ?? 0
        var model = fitted() ?? MemoryModel(
            fixedBytes: fixed, bytesPerSample: (Double(firstBase.peak) - fixed) / Double(firstBase.batch), accumulationBytes: accumulationBytes)

        // Verify the prediction with real steps, refitting from what each one shows.
        for _ in 0..<Self.maximumVerifications {
            let candidate = max(floor, model.largestBatch(within: targetBytes, effectiveBatch: effectiveBatch))
            let asTrained = { (m: ResolutionPlan.Measurement) in m.batch == candidate && m.gradientsHeld == (candidate < self.effectiveBatch) }
            if candidate <= best?.batch ?? 0 || measurements.contains(where: asTrained) { break }
            guard let peak = try measure(candidate) else {
                model = model.correctedForFailure(batch: candidate, budget: budgetBytes, accumulating: candidate < effectiveBatch)
                continue
            }
            model = fitted() ?? model
            // Close enough to the target, or nothing larger is needed.
            if limit.fits(peak) && (candidate == effectiveBatch || peak >= Int(Double(targetBytes) * 0.95)) { break }
        }
        guard let chosen = best else {
            throw impossible(
                resolution: resolution, estimate: model.predictedPeak(batch: 1, effectiveBatch: effectiveBatch), measurer: measurer)
        }
        let accumulation = AccumulationPlan(effectiveBatch: effectiveBatch, microBatch: chosen.batch)
        // The balanced cut may never run a micro-batch as large as the cap (16 at 7 is 6+5+5).
        let largestRun = accumulation.sizes.max() ?? chosen.batch
        return ResolutionPlan(
            resolution: resolution, microBatch: chosen.batch, accumulation: accumulation,
            predictedPeakBytes: model.predictedPeak(batch: largestRun, effectiveBatch: effectiveBatch),
            verifiedPeakBytes: chosen.peak, budgetBytes: budgetBytes, model: model, measurements: measurements)
    }

    /// Why nothing fits, with only what would help and is not already in force.
    func impossible(resolution: Int, estimate: Int?, measurer: any StepPeakMeasuring) -> PlanningError {
        var suggestions: [String] = []
        if let estimate, estimate > 0 {
            // Activations scale with the pixel count: the resolution at which one sample fits.
            let ratio = (Double(targetBytes) / Double(estimate)).squareRoot()
            let fitting = (Int(Double(resolution) * ratio) / 32) * 32
            if fitting >= 32 { suggestions.append("a lower resolution (about \(fitting) px should fit)") }
            suggestions.append("a memory budget of at least \(formatBytes(Int(Double(estimate) / (1 - headroom))))")
        } else {
            suggestions.append("a larger memory budget")
        }
        if settings.checkpointing == .off { suggestions.append("--activation-checkpointing auto (recompute activations in backward)") }
        if settings.streaming == .off { suggestions.append("--streaming auto (compute the start of the network in bands)") }
        if measurer.precision == .fp32 {
            let fast = Precision.automatic(for: measurer.device) == .bf16
            suggestions.append("--precision bf16 (about half the activation memory\(fast ? "" : "; slow on a CPU without native bf16"))")
        }
        return PlanningError(resolution: resolution, estimatedBytes: estimate, budgetBytes: budgetBytes, suggestions: suggestions)
    }
}
