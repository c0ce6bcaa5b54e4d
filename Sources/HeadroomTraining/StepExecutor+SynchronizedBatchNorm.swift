import HeadroomData
import HeadroomDistributed
import HeadroomModels
import Torch
import TorchNN

/// A step under synchronised BatchNorm: the ranks meet inside every forward and backward, so
/// they must run the same number of micro-batches with the same network, and a failure on
/// one rank is every rank's.
///
/// Before every attempt the ranks agree a plan: the smallest micro-batch any of them wants,
/// every segment any of them recomputes, and as many micro-batches as the largest share
/// needs (a smaller share may leave a rank an empty one, where it only answers the others'
/// collectives). After every micro-batch they meet (``BatchNormSynchronization/meet(reporting:)``):
/// when any rank ran out of memory, all drop the attempt, restore the step's start, and the
/// rank that failed shrinks its plan before they agree again; any other failure stops them all.
extension StepExecutor {
    func runSynchronized(
        _ batch: StepBatch, stopRequested: Bool, dataParallel: DataParallel, synchronization: BatchNormSynchronization
    ) throws -> StepOutcome {
        var recoveries: [StepOutcome.Recovery] = []
        var repeats = 0
        let statistics = try batchNormStatistics()
        let resolution = batch.resolution
        var cannotContinue: OutOfMemoryAtOneSample?
        while true {
            let plan = try agreePlan(for: batch, dataParallel: dataParallel, failed: cannotContinue != nil)
            if let cannotContinue { throw cannotContinue }
            guard let plan else { throw SynchronizedStepStopped(reason: "another rank cannot fit one sample at \(resolution) px") }
            reduced = false
            synchronization.isActive = true
            let attempted = Result { try attemptSynchronized(batch, plan: plan, synchronization: synchronization) }
            synchronization.isActive = false
            switch attempted {
            case let .success(totals):
                var outcome = try finish(batch, sizes: plan.sizes, totals: totals, stopRequested: stopRequested)
                (outcome.recoveries, outcome.repeatsForOtherRanks) = (recoveries, repeats)
                recordCleanStep(at: resolution)
                return outcome
            case let .failure(failed as SynchronizedAttemptFailed):
                try rollBack(to: statistics)
                guard let error = failed.ownError else {
                    repeats += 1
                    continue
                }
                do {
                    var recovery = try recover(from: error, microBatch: plan.sizes.max() ?? 1, resolution: resolution)
                    recovery.everyRank = true
                    recoveries.append(recovery)
                } catch let stop as OutOfMemoryAtOneSample {
                    // Said to the others at the next agreement, then thrown.
                    cannotContinue = stop
                }
            case let .failure(error):
                throw error
            }
        }
    }

    /// The plan every rank runs this attempt: nil when a rank cannot go on.
    struct SynchronizedPlan {
        var sizes: [Int]
        var segments: Set<ResNet.Segment>
    }

    /// One small all-gather: each rank's micro-batch and recomputed segments (0 when it
    /// cannot continue).
    private func agreePlan(for batch: StepBatch, dataParallel: DataParallel, failed: Bool) throws -> SynchronizedPlan? {
        let resolution = batch.resolution
        let segments = ResNet.Segment.allCases
        let mask = segments.enumerated().reduce(Int64(0)) { mask, entry in
            memory.recomputed(at: resolution).contains(entry.element) ? mask | (1 << entry.offset) : mask
        }
        let mine: [Int64] = [failed ? 0 : Int64(memory.microBatch(at: resolution)), mask]
        let everyone = try dataParallel.group.allGather(mine)
        guard everyone.allSatisfy({ $0[0] > 0 }) else { return nil }
        let micro = Int(everyone.map { $0[0] }.min()!)
        let union = everyone.reduce(Int64(0)) { $0 | $1[1] }
        let largestShare = evenSplit(batch.stepSamples, into: dataParallel.worldSize).max() ?? batch.count
        let count = (largestShare + micro - 1) / micro
        return SynchronizedPlan(
            sizes: evenSplit(batch.count, into: count),
            segments: Set(segments.enumerated().filter { union & (1 << $0.offset) != 0 }.map(\.element)))
    }

    /// The micro-batches of one attempt, each ended by a meeting of every rank.
    private func attemptSynchronized(
        _ batch: StepBatch, plan: SynchronizedPlan, synchronization: BatchNormSynchronization
    ) throws -> MicroBatchTotals {
        let reducer = dataParallel?.gradientReducer
        try reducer?.attachGradients()
        var totals = MicroBatchTotals()
        var offset = 0
        for (index, size) in plan.sizes.enumerated() {
            let last = index == plan.sizes.count - 1
            if last, dataParallel?.overlapsAllReduce == true { try reducer?.arm() }
            var report = BatchNormSynchronization.Failure.none
            var ownError: TorchError?
            if size > 0 {
                do {
                    try totals.add(accumulate(batch, rows: offset..<(offset + size), recomputing: plan.segments, streaming: nil))
                } catch {
                    switch error {
                    case .peerFailed: break  // another rank's failure: it reports it
                    case .collectiveFailed: throw error  // a rank died: there is no meeting to go to
                    case _ where error.isOutOfMemory: (report, ownError) = (.recoverable, error)
                    default: (report, ownError) = (.fatal, error)
                    }
                }
            }
            offset += size
            let (worst, failedRank) = try synchronization.meet(reporting: report)
            // Every rank armed its buckets for the last micro-batch, and each finishes them
            // only after the meeting: a rank waiting for buckets cannot answer collectives.
            if last, let reducer, reducer.state == .armed { try reducer.finish(keepingSums: worst == .none) }
            switch worst {
            case .none: continue
            case .recoverable: throw SynchronizedAttemptFailed(ownError: ownError)
            case .fatal:
                if let ownError { throw ownError }
                throw SynchronizedStepStopped(reason: "rank \(failedRank.map(String.init) ?? "(several)") failed inside the step")
            }
        }
        return totals
    }
}

/// A rank ran out of memory inside a synchronised micro-batch; `ownError` is set on that rank.
struct SynchronizedAttemptFailed: Error {
    var ownError: TorchError?
}

/// Another rank's failure stops this one: every rank stops at the same step.
public struct SynchronizedStepStopped: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "synchronised BatchNorm: \(reason); every rank stops (that rank's output says why)" }
}
