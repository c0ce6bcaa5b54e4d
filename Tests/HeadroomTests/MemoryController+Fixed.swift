import Torch
@testable import HeadroomExecution
@testable import HeadroomMemory

extension MemoryController {
    /// A controller whose plan at `resolution` is micro-batches of `microBatch`, made without
    /// measuring (as a forced micro-batch is), on the CPU.
    static func fixed(
        microBatch: Int, resolution: Int, effectiveBatch: Int, budgetBytes: Int = .max,
        checkpointing: ActivationCheckpointing = .off, streaming: StreamingChoice = .off, step: TrainingStep
    ) throws -> MemoryController {
        var settings = Settings()
        settings.forcedMicroBatch = microBatch
        settings.checkpointing = checkpointing
        settings.streaming = streaming
        let memory = MemoryController(
            device: .cpu, limit: MemoryLimit(budgetBytes: budgetBytes, headroom: 0), effectiveBatch: effectiveBatch, settings: settings)
        _ = try memory.plan(for: resolution, step: step)
        return memory
    }
}
