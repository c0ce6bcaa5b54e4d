import Testing
@testable import HeadroomMemory

@Suite struct MicroBatchPolicyTests {
    @Test func shrinksByTheCorrectedModelOrByHalf() {
        // 1000 fixed + 100 per sample, budget 2000: 10 should fit, but 10 failed.
        var policy = MicroBatchPolicy(plannedBatch: 10, model: MemoryModel(fixedBytes: 1000, bytesPerSample: 100), limit: MemoryLimit(budgetBytes: 2000, headroom: 0))
        let next = policy.recordOutOfMemory(at: 10)
        #expect(next != nil && next! < 10 && next! >= 5)
        var blind = MicroBatchPolicy(plannedBatch: 16, model: nil, limit: MemoryLimit(budgetBytes: 2000, headroom: 0))
        #expect(blind.recordOutOfMemory(at: 16) == 8)
        #expect(blind.recordOutOfMemory(at: 8) == 4)
        #expect(blind.recordOutOfMemory(at: 1) == nil)
    }

    @Test func growsBackAfterPatienceAndBacksOffWhenThatFails() {
        var policy = MicroBatchPolicy(plannedBatch: 16, model: nil, limit: MemoryLimit(budgetBytes: 1, headroom: 0), patience: 3)
        #expect(policy.recordOutOfMemory(at: 16) == 8)
        #expect(policy.recordCleanStep() == 8)
        #expect(policy.recordCleanStep() == 8)
        #expect(policy.recordCleanStep() == 16)  // a transient spike costs three steps
        #expect(policy.isGrowing)
        // It fails again at 16: back to 8, and the next attempt waits twice as long.
        #expect(policy.recordOutOfMemory(at: 16) == 8)
        #expect(policy.patience == 6)
        for _ in 0..<5 { #expect(policy.recordCleanStep() == 8) }
        #expect(policy.recordCleanStep() == 16)
        #expect(policy.recordCleanStep() == 16)  // confirmed
        #expect(!policy.isGrowing)
        #expect(policy.recordCleanStep() == 16)  // never above the plan
    }

    @Test func thrashingShrinksBeforeAnOutOfMemoryError() {
        var policy = MicroBatchPolicy(plannedBatch: 32, model: nil, limit: MemoryLimit(budgetBytes: 1, headroom: 0), patience: 1000)
        #expect(policy.recordCleanStep(allocationRetries: 0) == 32)
        #expect(policy.recordCleanStep(allocationRetries: 1) == 32)
        #expect(policy.recordCleanStep(allocationRetries: 2) == 32)
        #expect(policy.recordCleanStep(allocationRetries: 3) == 28)
        // Quiet again: the size holds.
        #expect(policy.recordCleanStep(allocationRetries: 3) == 28)
    }

    /// With a BatchNorm floor of 2 (32 px), recovery never shrinks to 1: below it is the
    /// one-sample case, as 1 is without a floor.
    @Test func neverShrinksBelowTheBatchNormFloor() {
        var policy = MicroBatchPolicy(
            plannedBatch: 8, model: nil, limit: MemoryLimit(budgetBytes: 1 << 30, headroom: 0), minimumBatch: 2)
        #expect(policy.recordOutOfMemory(at: 8) == 4)
        #expect(policy.recordOutOfMemory(at: 4) == 2)
        #expect(policy.recordOutOfMemory(at: 3) == 2)
        #expect(policy.recordOutOfMemory(at: 2) == nil)
    }
}
