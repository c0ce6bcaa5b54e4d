import HeadroomExecution
import HeadroomModels
import Torch

/// Streaming's plan, at about the price of two streamed steps.
///
/// A streamed step costs several plain ones, so the planner does not climb a ladder of
/// full-size probes. For each depth, shallowest (cheapest) first: steps at about half the
/// resolution, in the most bands and then the tallest, draw `peak = fixed + perBands / bands`
/// (a peak is the larger of a phase in bands and phases without: the line through the two
/// lies above it between them, and no count beyond the most is predicted lower); every map of a
/// streamed step grows with the pixel count (the streamed output, the stages after it, a
/// band's maps, whose rows and width both grow), so the line scales to the full size (a
/// quarter-size step in the most bands says what does not), and the fewest bands predicted
/// to fit are taken. Where even the most bands are predicted not to fit, the depth is out
/// before its tallest bands are measured. The room left then holds what it can: the
/// held maps are exact bytes, and holding only shortens what a band computes, so a held
/// rung needs at most the plain rung's peak plus its maps. The cheapest compute predicted to
/// fit is verified by one full-size step; where it does not fit, the next.
///
/// Scaling up from a smaller size overestimates a band's share (a halo's rows do not grow
/// with the image), so a prediction errs towards more bands.
extension BatchPlanner {
    func planStreamed(resolution: Int, peaks: SteadyStatePeaks, depths: [ResNet.Segment]) throws -> ResolutionPlan {
        var firstFailure: PlanningError?
        var smallestEstimate: Int?
        for through in depths {
            let (candidates, estimate) = try streamedCandidates(through: through, resolution: resolution, peaks: peaks)
            if let estimate { smallestEstimate = min(estimate, smallestEstimate ?? estimate) }
            for (streaming, predicted) in candidates {
                do {
                    return try plan(
                        resolution: resolution, peaks: peaks, checkpointing: Set(ResNet.Segment.allCases), streaming: streaming,
                        predicted: predicted)
                } catch let error as PlanningError {
                    firstFailure = firstFailure ?? error
                }
            }
        }
        throw firstFailure ?? impossible(resolution: resolution, estimate: smallestEstimate, measurer: peaks.measurer)
    }

    /// The rungs through `through` predicted to fit at `resolution`, the cheapest compute
    /// first, each with its predicted line; and the predicted peak of one sample in the
    /// most bands (for the error when none fits).
    func streamedCandidates(
        through: ResNet.Segment, resolution: Int, peaks: SteadyStatePeaks
    ) throws -> (candidates: [(ResNet.Streaming, MemoryModel)], estimate: Int?) {
        guard let line = try bandLine(through: through, resolution: resolution, peaks: peaks) else { return ([], nil) }
        let counts = StreamingChoice.bandCounts(inputRows: resolution)
        // The fewest bands whose predicted peak fits: perBands / bands ≤ room left (none
        // beyond the most measured: no more bands lower the peak below that step's).
        let left = Double(targetBytes) - Double(line.bandlessPeak)
        let fewest = left <= 0 ? Int.max : Int((line.perBands / left).rounded(.up))
        let estimate = line.peak(bands: counts.upperBound)
        guard fewest <= min(counts.upperBound, line.mostBands) else { return ([], estimate) }
        // No taller than a step has shown (the band's share of the peak is measured only
        // where bands are its peak).
        let bands = max(line.measuredBands, fewest)
        let model = peaks.measurer.model
        let plain = ResNet.Streaming(through: through, bands: bands)
        let held = ([ResNet.Streaming(through: through, bands: bands, holdsBlocks: true)]
            + ResNet.Segment.allCases.filter { $0 > .stem && $0 <= through }.map { ResNet.Streaming(through: through, bands: bands, heldFrom: $0) })
            .filter { $0.holdsStages }
            .sorted {
                model.recomputeOverhead(of: [], streaming: $0, resolution: resolution)
                    < model.recomputeOverhead(of: [], streaming: $1, resolution: resolution)
            }
        // Should the prediction be short, twice the bands before a deeper stage.
        let shorter = min(counts.upperBound, 2 * bands)
        let fallback = shorter > bands ? [ResNet.Streaming(through: through, bands: shorter)] : []
        let candidates = (held + [plain] + fallback).compactMap { (streaming) -> (ResNet.Streaming, MemoryModel)? in
            let predicted = MemoryModel(
                fixedBytes: line.fixedBytes,
                bytesPerSample: line.bytesPerSample + line.perBands / Double(min(streaming.bands, line.mostBands))
                    + Double(model.heldStageBytes(streaming, resolution: resolution)),
                accumulationBytes: line.accumulationBytes)
            return predicted.predictedPeak(batch: 1, effectiveBatch: effectiveBatch) <= targetBytes ? (streaming, predicted) : nil
        }
        return (candidates, estimate)
    }

    /// Below this size a streamed step costs seconds and its halos (rows that do not grow
    /// with the image) weigh too much for a smaller step to predict it: measured at the size.
    static let smallestScaledStreaming = 2048

    /// A streamed step's peak at `resolution` through `through` as a function of its band
    /// count, drawn from steps at about half the size (the full size where that is small);
    /// nil where none fits.
    ///
    /// Per sample, `bytes(size, bands) = α + size² · (β + γ / bands)`: α what does not grow
    /// with the image (the classifier, workspaces), β the maps held whole, γ a band's (its
    /// rows and width both grow with the size). The most bands at half the size and at a
    /// quarter give α and β + γ / most; where those cannot fit at the full size, the depth is
    /// out, and otherwise the tallest bands at half the size give γ.
    func bandLine(through: ResNet.Segment, resolution: Int, peaks: SteadyStatePeaks) throws -> StreamedPeakLine? {
        let measurer = peaks.measurer
        let half = resolution >= Self.smallestScaledStreaming ? resolution / 2 / 32 * 32 : resolution
        let quarter = half < resolution ? half / 2 / 32 * 32 : nil
        let batch = min(measurer.model.smallestTrainingBatch(resolution: quarter ?? half), effectiveBatch)
        let accumulating = batch < effectiveBatch
        let counts = StreamingChoice.bandCounts(inputRows: resolution)
        // Twice as tall as the ladder's first rung, then the shortest bands: a peak is the
        // larger of a phase in bands and phases without (the streamed output, its gradient,
        // the stages after it), and only the most bands show the second.
        let ladderFirst = StreamingChoice.through(through).ladder(inputRows: resolution).first?.bands ?? counts.lowerBound
        let tallest = max(counts.lowerBound, ladderFirst / 2)
        let most = counts.upperBound
        // What does not grow with the image or the batch: weights, optimiser state, and the
        // gradients an accumulating step holds (the line adds those back itself).
        let accumulation = Double(measurer.accumulationBytes)
        let fixed = Double(try measurer.floorBytes(resolution: 0)) - accumulation + Double(measurer.device.isCUDA ? 0 : settings.decodingBytes)
        /// Bytes per sample of a step at `size` in `bands`, held gradients and fixed bytes left
        /// out; each measured once.
        var measured: [[Int]: Double?] = [:]
        func bytes(_ size: Int, _ bands: Int) throws -> Double? {
            if let known = measured[[size, bands]] { return known }
            let bytes = try peaks.peak(
                batch: batch, resolution: size, gradientsPresent: accumulating, recomputing: Set(ResNet.Segment.allCases),
                streaming: ResNet.Streaming(through: through, bands: bands)
            ).map { (Double($0) - (accumulating ? accumulation : 0) - fixed) / Double(batch) }
            measured[[size, bands]] = bytes
            return bytes
        }
        // Peaks not yet shown steady take two steps a size: spend those on the smallest.
        if !peaks.isSettled, let quarter { _ = try bytes(quarter, most) }
        // The most bands first: no count is predicted lower, so where they cannot fit at the
        // full size nothing at this depth can, and a step at half the size and one at a
        // quarter rule it out.
        guard let a = try bytes(half, most) else { return nil }
        // α + size² · (β + γ / most) from the two sizes; everything at half the size scaling
        // with the area where the quarter did not fit or told nothing (conservative).
        let halfArea = Double(half * half)
        var alpha = 0.0
        var perArea = a / halfArea
        if let quarter, let c = try bytes(quarter, most), a > c {
            perArea = (a - c) / (halfArea - Double(quarter * quarter))
            alpha = max(0, a - halfArea * perArea)
        }
        let area = Double(resolution * resolution)
        let prefetch = Double(measurer.device.isCUDA ? 0 : settings.prefetchBytesPerSample(resolution))
        var line = StreamedPeakLine(
            fixedBytes: fixed, bytesPerSample: alpha + area * perArea + prefetch, perBands: 0, accumulationBytes: accumulation,
            accumulates: effectiveBatch > 1, measuredBands: most, mostBands: most)
        guard tallest < most, line.bandlessPeak <= targetBytes, let b = try bytes(half, tallest) else { return line }
        // γ from the two counts (none where noise makes more bands look dearer): the line
        // through both lies above the peak between them, the larger of two phases, and no
        // count beyond the most is predicted lower than that step.
        let gamma = max(0, (b - a) / (1 / Double(tallest) - 1 / Double(most)) / halfArea)
        line.bytesPerSample = alpha + area * max(0, perArea - gamma / Double(most)) + prefetch
        line.perBands = area * gamma
        line.measuredBands = tallest
        return line
    }
}

/// A streamed step's predicted peak at one sample: `fixed + perSample + perBands / bands`
/// (plus the gradients when the step accumulates), bands counted up to the most measured.
struct StreamedPeakLine {
    var fixedBytes: Double
    var bytesPerSample: Double
    var perBands: Double
    var accumulationBytes: Double
    /// Whether a step of one sample accumulates (holds the gradients throughout).
    var accumulates: Bool
    /// The fewest bands a step at the smaller size fitted in: no fewer are predicted.
    var measuredBands: Int
    /// The most bands a smaller step was measured in: more are predicted no lower.
    var mostBands: Int

    /// The peak without the bands' share.
    var bandlessPeak: Int { Int(fixedBytes + bytesPerSample + (accumulates ? accumulationBytes : 0)) }

    func peak(bands: Int) -> Int {
        bandlessPeak + Int(perBands / Double(max(1, min(bands, mostBands))))
    }
}
