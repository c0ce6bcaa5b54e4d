import Foundation
import Testing
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomMemory

/// The owner of a run's memory: one limit, one definition of "fits", plans kept only under
/// the budget they were made for.
@Suite struct MemoryControllerTests {
    static let model = MemoryModel(fixedBytes: 1000, bytesPerSample: 100)

    @Test func thePlannerAndTheRecoveryFitTheSameUsableBytes() {
        let limit = MemoryLimit(budgetBytes: 2000, headroom: 0.1)
        #expect(limit.usableBytes == 1800)
        #expect(limit.fits(1800) && !limit.fits(1801))
        // 1000 + 100·b ≤ 1800: 8 fits the plan's definition (10 would fit the whole budget).
        var policy = MicroBatchPolicy(plannedBatch: 12, effectiveBatch: 12, model: Self.model, limit: limit)
        let next = policy.recordOutOfMemory(at: 12)
        #expect(next == 8, "recovery chose \(String(describing: next))")
    }

    func plan(resolution: Int, budget: Int) -> ResolutionPlan {
        ResolutionPlan(
            resolution: resolution, microBatch: 4, accumulation: AccumulationPlan(effectiveBatch: 8, microBatch: 4),
            predictedPeakBytes: 1400, verifiedPeakBytes: 1400, budgetBytes: budget, model: Self.model, measurements: [])
    }

    @Test func aResumedRunKeepsOnlyPlansMadeForItsLimit() {
        let limit = MemoryLimit(budgetBytes: 2000, headroom: 0.1)
        let saved = [plan(resolution: 64, budget: 2000), plan(resolution: 96, budget: 4000)]
        let policies = [
            64: MicroBatchPolicy(plannedBatch: 4, effectiveBatch: 8, model: Self.model, limit: limit),
            96: MicroBatchPolicy(plannedBatch: 4, effectiveBatch: 8, model: Self.model, limit: MemoryLimit(budgetBytes: 4000, headroom: 0.1)),
        ]
        let memory = MemoryController(device: .cpu, limit: limit, effectiveBatch: 8)
        #expect(memory.restore(plans: saved, policies: policies) == [96])
        #expect(Set(memory.plans.keys) == [64])
        #expect(memory.microBatch(at: 64) == 4)
        // The same plans under another headroom: planned again too.
        let other = MemoryController(device: .cpu, limit: MemoryLimit(budgetBytes: 2000, headroom: 0.2), effectiveBatch: 8)
        #expect(other.restore(plans: saved, policies: policies) == [64, 96])
    }

    @Test func simulatedPressureLowersTheBudgetOnlyWhileItLasts() throws {
        var settings = MemoryController.Settings()
        settings.pressure = MemoryPressure(fromStep: 2, untilStep: 4, bytes: 1 << 20)
        let memory = MemoryController(device: .cpu, limit: MemoryLimit(budgetBytes: 8 << 30), effectiveBatch: 8, settings: settings)
        defer { try? MemoryController.setDeviceBudget(nil, on: .cpu) }
        for (step, expected) in [(0, 8 << 30), (2, (8 << 30) - (1 << 20)), (3, (8 << 30) - (1 << 20)), (4, 8 << 30)] {
            try memory.enforce(atStep: step)
            #expect(try Device.cpu.memoryStatistics().budgetBytes == expected, "step \(step)")
        }
    }
}
