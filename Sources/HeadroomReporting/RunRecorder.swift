public import Foundation
import HeadroomFormats

/// Everything a run records as it goes, in one owner: the rows of metrics.jsonl, the same
/// numbers as TensorBoard scalars, and the HTML report's refresh. TensorBoard's buffer is
/// flushed at every epoch and checkpoint and when the run ends, so a killed run loses at
/// most the steps since its last checkpoint there — the steps a resume trains again.
public final class RunRecorder {
    public let runDirectory: URL
    private let metrics: MetricsWriter
    private var tensorBoard: TensorBoardWriter?
    /// Out-of-memory errors at the step they happened in so far: TensorBoard keeps one value
    /// a step, so several at one step show as their count, not as one.
    private var outOfMemoryErrors: (step: Int, count: Int) = (-1, 0)

    /// Opens `metrics` for appending and starts a TensorBoard event file in `tensorBoard`
    /// (a run without one still trains: TensorBoard is a view, metrics.jsonl the record).
    public init(runDirectory: URL, metrics: URL, tensorBoard: URL) throws {
        self.runDirectory = runDirectory
        self.metrics = try MetricsWriter(url: metrics)
        self.tensorBoard = try? TensorBoardWriter(directory: tensorBoard)
        // TensorBoard draws one tag per chart; its Custom Scalars tab draws the peak against the budget.
        try? self.tensorBoard?.add(
            layout: [(category: "Memory", charts: [(title: "Peak memory and budget (MiB)", tags: [Self.peakTag, Self.budgetTag])])])
    }

    static let peakTag = "memory/peak_MiB"
    static let budgetTag = "memory/budget_MiB"

    public func record(_ step: StepRecord) throws {
        try metrics.append(step)
        scalars(at: step.step, [
            ("train/loss", step.loss), ("train/lr", step.learningRate), ("train/samples_per_s", step.samplesPerSecond),
            (Self.peakTag, Double(step.peakBytes) / 1_048_576), (Self.budgetTag, Double(step.budgetBytes) / 1_048_576),
            ("plan/micro_batch", Double(step.microBatch)), ("plan/accumulation", Double(step.accumulation)),
            ("plan/resolution", Double(step.resolution)),
        ])
    }

    public func record(_ epoch: EpochRecord) throws {
        try metrics.append(epoch)
        scalars(at: epoch.step, [
            ("epoch/train_loss", epoch.trainLoss), ("epoch/train_top1", epoch.trainTop1), ("epoch/val_loss", epoch.validationLoss),
            ("epoch/val_top1", epoch.validationTop1),
        ] + (epoch.validationTop5.map { [("epoch/val_top5", $0)] } ?? [])
            + (epoch.averageValidationTop1.map { [("epoch/ema_val_top1", $0)] } ?? [])
            + (epoch.averageValidationLoss.map { [("epoch/ema_val_loss", $0)] } ?? []))
        try? tensorBoard?.flush()
    }

    public func record(_ event: RunEvent, at position: RunEvent.Position) throws {
        try metrics.append(event, at: position)
        switch event {
        case .outOfMemory(let oom):
            outOfMemoryErrors = (position.step, outOfMemoryErrors.step == position.step ? outOfMemoryErrors.count + 1 : 1)
            scalars(at: position.step, [
                ("memory/out_of_memory_micro_batch", Double(oom.microBatch)),
                ("memory/out_of_memory_errors_in_step", Double(outOfMemoryErrors.count)),
            ])
        case .replan(let replan): scalars(at: position.step, [("plan/replanned_micro_batch", Double(replan.microBatch))])
        case .checkpoint: try? tensorBoard?.flush()
        default: break
        }
    }

    /// The run's settings, as the start-up table shows them, for TensorBoard's Text tab.
    public func record(settings rows: [(String, String)], at step: Int) {
        let escaped = rows.map { name, value in "| \(name) | \(value.replacingOccurrences(of: "|", with: "\\|")) |" }
        try? tensorBoard?.add(text: (["| setting | value |", "|---|---|"] + escaped).joined(separator: "\n"), tag: "run/settings", step: step)
    }

    /// Rewrites report.html from what has been recorded (a failure leaves the last one).
    public func refreshReport() {
        _ = try? HTMLReport.write(runDirectory: runDirectory)
    }

    /// Drops the rows written after the checkpoint at `step`, which a resumed run writes again,
    /// from metrics.jsonl and, as TensorBoard reads them, from its event files.
    @discardableResult
    public func resume(fromCheckpointAt step: Int) throws -> Int {
        // TensorBoard's files are append-only: a restart event makes it drop the same steps.
        try? tensorBoard?.add(sessionStartAt: step + 1)
        return try metrics.truncate(afterCheckpointAt: step)
    }

    /// Flushes TensorBoard and refreshes the report: the run has ended, one way or another.
    public func close() {
        try? tensorBoard?.close()
        tensorBoard = nil
        refreshReport()
    }

    private func scalars(at step: Int, _ values: [(String, Double)]) {
        for (tag, value) in values { try? tensorBoard?.add(scalar: value, tag: tag, step: step) }
    }
}
