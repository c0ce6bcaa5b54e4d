import Foundation
import Torch

/// The micro-batch plan of each resolution, made when its stage starts and kept for resume.
extension Trainer {
    /// The micro-batch policy of a resolution: restored, forced, or planned now.
    func policy(for resolution: Int) throws -> MicroBatchPolicy {
        if let existing = policies[resolution] { return existing }
        // Data-parallel, a rank plans for its share of the step: the largest one, as the
        // first effective % worldSize ranks take one sample more.
        let worldSize = dataParallel?.worldSize ?? 1
        let effective = (configuration.batchSize + worldSize - 1) / worldSize
        let plan: ResolutionPlan
        if let forced = configuration.forcedMicroBatch {
            let micro = min(forced, effective)
            var forcedPlan = ResolutionPlan(
                resolution: resolution, microBatch: micro, accumulation: AccumulationPlan(effectiveBatch: effective, microBatch: micro),
                predictedPeakBytes: 0, verifiedPeakBytes: 0, budgetBytes: budgetBytes, model: MemoryModel(fixedBytes: 0, bytesPerSample: 0),
                measurements: [])
            if case .segments(let segments) = configuration.activationCheckpointing {
                forcedPlan.checkpointedSegments = segments.sorted()
                forcedPlan.recomputeOverhead = step.model.recomputeOverhead(of: segments, resolution: resolution)
            }
            plan = forcedPlan
        } else {
            var planner = BatchPlanner(budgetBytes: budgetBytes, effectiveBatch: effective, headroom: configuration.memoryHeadroom)
            planner.checkpointing = configuration.activationCheckpointing
            planner.minimumMicroBatch = configuration.minimumMicroBatch
            // The prefetch queue holds two decoded batches beside the one training.
            planner.prefetchBytesPerSample = { 3 * BatchLoader.batchBytes(count: 1, resolution: $0) }
            plan = try planner.plan(resolutions: [resolution], step: step)[0]
        }
        plans.removeAll { $0.resolution == resolution }
        plans.append(plan)
        let policy = MicroBatchPolicy(
            plannedBatch: plan.microBatch, effectiveBatch: effective,
            model: configuration.forcedMicroBatch == nil ? plan.model : nil, budgetBytes: budgetBytes,
            patience: configuration.growthPatience)
        policies[resolution] = policy
        observer(.planned(plan))
        try metrics?.append("replan", [
            "epoch": epoch, "step": globalStep, "resolution": resolution, "micro_batch": plan.microBatch,
            "accumulation": plan.accumulation.steps, "predicted_peak_bytes": plan.predictedPeakBytes,
            "verified_peak_bytes": plan.verifiedPeakBytes, "budget_bytes": budgetBytes,
            "activation_checkpointing": plan.checkpointedSegments.map(\.rawValue), "recompute_overhead": plan.recomputeOverhead,
            "uncheckpointed_micro_batch": plan.uncheckpointedMicroBatch,
        ])
        try writeRunRecord()
        return policy
    }
}
