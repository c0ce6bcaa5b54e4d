import Testing
import Torch

/// The budgeted CPU allocator. Serialized with the leak tests: both read process-wide counts.
@Suite(.serialized) struct MemoryTests {
    @Test func countsAgreeWithTensorSizes() throws {
        let before = try Device.cpu.memoryStatistics().liveBytes
        let tensor = try Tensor.empty([1000, 250], dtype: .float32)
        let during = try Device.cpu.memoryStatistics().liveBytes
        #expect(during - before == 1_000_000)
        _ = tensor.shape  // keep it alive until here
        let bytes = try Tensor.zeros([10], dtype: .uint8)
        #expect(try Device.cpu.memoryStatistics().liveBytes - during == 10)
        _ = bytes.shape
    }

    @Test func peakIsTrackedAndResets() throws {
        try Device.cpu.resetPeakMemory()
        let base = try Device.cpu.memoryStatistics()
        do {
            _ = try Tensor.zeros([4 << 20], dtype: .uint8)  // 4 MiB, freed at once
        }
        let after = try Device.cpu.memoryStatistics()
        #expect(after.peakBytes - base.liveBytes >= 4 << 20)
        #expect(after.liveBytes == base.liveBytes)
        try Device.cpu.resetPeakMemory()
        #expect(try Device.cpu.memoryStatistics().peakBytes == base.liveBytes)
    }

    /// Large freed blocks are kept for the next allocation of their size (a step reallocates
    /// the same sizes); emptying the cache returns them.
    @Test func freedBlocksAreReusedUntilEmptied() throws {
        try Device.cpu.emptyCache()
        let base = try Device.cpu.memoryStatistics()
        #expect(base.reservedBytes == base.liveBytes)
        let size = 3 << 20 + 4096  // a size no other test uses
        let address: (Tensor) throws -> UnsafeMutableRawPointer = { try $0.withUnsafeMutableBytes { $0.baseAddress! } }
        var first: UnsafeMutableRawPointer?
        do {
            let block = try Tensor.empty([size], dtype: .uint8)
            first = try address(block)
        }
        let cached = try Device.cpu.memoryStatistics()
        #expect(cached.liveBytes == base.liveBytes)
        #expect(cached.reservedBytes == base.liveBytes + size)
        do {
            let again = try Tensor.empty([size], dtype: .uint8)
            #expect(try address(again) == first)  // the same block, no new pages
            #expect(try Device.cpu.memoryStatistics().reservedBytes == base.liveBytes + size)
        }
        try Device.cpu.emptyCache()
        #expect(try Device.cpu.memoryStatistics().reservedBytes == base.liveBytes)
    }

    /// Live and cached bytes together never pass the budget: a block of another size is
    /// allocated only after the cache has given back what no longer fits beside it.
    @Test func aFreshBlockShrinksTheCacheFirst() throws {
        try Device.cpu.emptyCache()
        let base = try Device.cpu.memoryStatistics()
        try Device.cpu.setMemoryBudget(bytes: base.liveBytes + (4 << 20))
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        do { _ = try Tensor.empty([2 << 20], dtype: .uint8) }
        #expect(try Device.cpu.memoryStatistics().reservedBytes == base.liveBytes + (2 << 20))  // kept: 2 + 0 ≤ 4 MiB
        let larger = try Tensor.empty([3 << 20], dtype: .uint8)  // another size: 3 + 2 would pass 4 MiB
        let after = try Device.cpu.memoryStatistics()
        #expect(after.liveBytes == base.liveBytes + larger.count)
        #expect(after.reservedBytes == after.liveBytes, "the 2 MiB block stayed cached beside the new one")
    }

    @Test func goingOverTheBudgetThrowsOutOfMemoryAndRecovers() throws {
        let base = try Device.cpu.memoryStatistics()
        let budget = base.liveBytes + (8 << 20)
        try Device.cpu.setMemoryBudget(bytes: budget)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        #expect(try Device.cpu.memoryStatistics().budgetBytes == budget)

        let small = try Tensor.zeros([1 << 20], dtype: .uint8)  // fits
        do {
            _ = try Tensor.zeros([16 << 20], dtype: .uint8)
            Issue.record("a 16 MiB tensor fit in an 8 MiB budget")
        } catch {
            guard case let .outOfMemory(requested, message) = error else {
                Issue.record("expected outOfMemory, got \(error)")
                return
            }
            #expect(requested == 16 << 20)
            #expect(message.contains("budget"))
        }
        // An op that allocates inside libtorch (matmul's result and scratch) fails the same way.
        let a = try Tensor.ones([1024, 1024])  // 4 MiB
        #expect(throws: TorchError.self) { try a.matmul(a).matmul(a) }
        _ = (small.shape, a.shape)
        try Device.cpu.setMemoryBudget(bytes: nil)
        let stats = try Device.cpu.memoryStatistics()
        #expect(stats.failedAllocations >= 1)
        #expect(stats.budgetBytes == nil)
    }

    @Test func nothingStaysBehindAfterAFailedAllocation() throws {
        let base = try Device.cpu.memoryStatistics().liveBytes
        try Device.cpu.setMemoryBudget(bytes: base + (1 << 20))
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        for _ in 0..<10 {
            _ = try? Tensor.randn([512, 1024])  // 2 MiB each: refused
        }
        try Device.cpu.setMemoryBudget(bytes: nil)
        #expect(try Device.cpu.memoryStatistics().liveBytes == base)
    }

    @Test func trainingStepsReturnToTheBaseline() throws {
        let weight = try Tensor.randn([64, 3, 3, 3], generator: Generator(seed: 0)).requiringGradient()
        let input = try Tensor.randn([4, 3, 32, 32], generator: Generator(seed: 1))
        let base = try Device.cpu.memoryStatistics().liveBytes
        for _ in 0..<3 {
            try input.conv2d(weight: weight, padding: (1, 1)).relu().sum().backward()
            try weight.setGrad(nil)
        }
        #expect(try Device.cpu.memoryStatistics().liveBytes == base)
    }
}
