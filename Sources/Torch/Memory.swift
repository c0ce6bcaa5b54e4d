import CTorch

/// What a device's allocator says about its memory.
public struct MemoryStatistics: Sendable, Equatable {
    /// Bytes held by tensors now.
    public var liveBytes: Int
    /// The most held at once since the last `resetPeakMemory()`.
    public var peakBytes: Int
    /// Bytes the caching allocator holds: live, plus freed blocks kept for reuse (on the CPU,
    /// blocks of 1 MiB and more, never more than the highest use seen).
    public var reservedBytes: Int
    /// The enforced budget, nil when there is none.
    public var budgetBytes: Int?
    /// CPU: allocations made; CUDA: allocations live.
    public var allocations: Int
    /// Allocations refused over the budget (CPU) or out-of-memory errors (CUDA).
    public var failedAllocations: Int
    /// CUDA: allocations that had to flush the cache first; climbing means thrashing.
    public var allocationRetries: Int
}

extension Device {
    /// The allocator's statistics. On the CPU, Headroom's counting allocator is installed as
    /// the program loads, so every tensor is counted.
    public func memoryStatistics() throws(TorchError) -> MemoryStatistics {
        var stats = ctorch_memory_stats()
        try check(ctorch_memory_read(cValue, &stats))
        return MemoryStatistics(
            liveBytes: Int(stats.live_bytes), peakBytes: Int(stats.peak_bytes), reservedBytes: Int(stats.reserved_bytes),
            budgetBytes: stats.budget_bytes > 0 ? Int(stats.budget_bytes) : nil, allocations: Int(stats.allocations),
            failedAllocations: Int(stats.failed_allocations), allocationRetries: Int(stats.allocation_retries))
    }

    /// Starts peak tracking afresh from the current use.
    public func resetPeakMemory() throws(TorchError) {
        try check(ctorch_memory_reset_peak(cValue))
    }

    /// Caps the memory tensors on this device may hold; past it, allocations throw
    /// `TorchError.outOfMemory`. nil removes the cap. On CUDA this is the caching
    /// allocator's per-process memory fraction.
    public func setMemoryBudget(bytes: Int?) throws(TorchError) {
        try check(ctorch_memory_set_budget(cValue, Int64(bytes ?? 0)))
    }

    /// Returns cached, unused memory to the driver (CUDA) or the system (CPU).
    public func emptyCache() throws(TorchError) {
        try check(ctorch_memory_empty_cache(cValue))
    }
}
