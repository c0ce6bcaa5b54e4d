import Foundation
import Headroom
import Torch

/// Turns trainer events into terminal output: a live progress line on a terminal, plain
/// periodic lines otherwise (logs, CI).
final class ProgressPrinter: @unchecked Sendable {
    // @unchecked: events arrive on the training thread only.
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastPlainLine = Date.distantPast
    private var lineIsOpen = false
    /// Data-parallel ranks other than 0 print only warnings, tagged "[rank N]".
    private let quietRank: Int?

    init(rank: Int? = nil) {
        quietRank = rank == 0 ? nil : rank
    }

    func handle(_ event: TrainerEvent) {
        if let rank = quietRank {
            switch event {
            case let .outOfMemory(_, step, resolution, failed, new, segments, streaming, phase, everyRank):
                let recomputing = recomputingText(segments, streaming).map { ", \($0)" } ?? ""
                let retry = everyRank ? "every rank repeats the step, this one" : "retrying this rank's share"
                printError("[rank \(rank)] out of memory\(phase.map { " in \($0)" } ?? "") at step \(step) (\(resolution) px, micro-batch \(failed)): \(retry) at micro-batch \(new)\(recomputing)")
            case let .badSample(sample):
                printError("[rank \(rank)] skipped an unreadable image: \(sample)")
            default:
                break
            }
            return
        }
        switch event {
        case let .started(rows):
            let width = rows.map(\.0.count).max() ?? 0
            for (name, value) in rows { say("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(value)") }
        case let .planned(plan):
            // "+grads": the step held the gradients before it ran, as an accumulating step's micro-batches do.
            let measured = plan.measurements.map { m in "\(m.batch)\(m.gradientsHeld ? "+grads" : "")→\(m.peakBytes.map(formatBytes) ?? "OOM")" }
                .joined(separator: ", ")
            // A forced micro-batch is not measured: say so rather than print a peak of 0 B.
            let peaks = plan.measurements.isEmpty
                ? "not measured (--micro-batch), budget \(formatBytes(plan.budgetBytes))"
                : "predicted peak \(formatBytes(plan.predictedPeakBytes)), verified \(formatBytes(plan.verifiedPeakBytes)) of \(formatBytes(plan.budgetBytes)) (steps measured: \(measured))"
            say("plan \(plan.resolution) px: micro-batch \(plan.microBatch) × \(plan.accumulation.steps)\(plan.checkpointedSegments.isEmpty ? "" : ", \(plan.streaming == nil ? "recomputing " : "")\(checkpointingSummary(plan))\(checkpointingReason(plan).map { " because \($0)" } ?? "")"), \(peaks)")
        case let .stage(epoch, resolution):
            say("epoch \(epoch + 1): \(resolution) px")
        case let .step(progress):
            step(progress)
        case let .outOfMemory(_, step, resolution, failed, new, segments?, streaming, phase, _):
            say("out of memory\(phase.map { " in \($0)" } ?? "") at step \(step) (\(resolution) px, micro-batch \(failed)): retrying the same samples in micro-batches of at most \(new), \(recomputingText(segments, streaming)!)")
        case let .outOfMemory(_, step, resolution, failed, new, nil, _, phase, _):
            say("out of memory\(phase.map { " in \($0)" } ?? "") at step \(step) (\(resolution) px, micro-batch \(failed)): retrying the same samples in micro-batches of at most \(new)")
        case let .repeatedForAnotherRank(_, step, times):
            say("step \(step) repeated\(times > 1 ? " \(times) times" : ""): another rank ran out of memory inside it (its own line says how it recovers)")
        case let .badSample(sample):
            say("skipped an unreadable image: \(sample)")
        case let .validated(summary):
            let top5 = summary.validation.top5.map { ", top-5 \(percent($0))" } ?? ""
                + (summary.validation.streaming.map { " (validation streamed \($0): an image did not fit whole)" } ?? "")
            let average = summary.averageValidation.map { ", EMA top-1 \(percent($0.top1))" } ?? ""
            say("epoch \(summary.epoch + 1): train loss \(fixed(summary.trainLoss)), val loss \(fixed(summary.validation.loss)), top-1 \(percent(summary.validation.top1))\(top5)\(average)\(summary.isBest ? " (best)" : "") in \(fixed(summary.seconds, digits: 1)) s\(summary.badImages > 0 ? "; \(summary.badImages) unreadable images skipped so far" : "")")
        case let .checkpointSaved(url, reason):
            if reason != .interval { say("checkpoint (\(reason.rawValue)): \(url.path)") }
        case .stopping:
            say("stopping: saving a checkpoint after this step (Ctrl-C again to quit at once)")
        case let .downloading(file, bytes, total):
            let share = total.map { " of \(formatBytes($0)) (\(bytes * 100 / max($0, 1))%)" } ?? ""
            say("downloading \(file): \(formatBytes(bytes))\(share)")
        }
    }

    private func step(_ p: StepProgress) {
        let budget = p.budgetBytes.map { "/\(formatBytes($0))" } ?? ""
        let line = "epoch \(p.epoch + 1)/\(p.epochs) step \(p.stepInEpoch)/\(p.stepsInEpoch)  loss \(fixed(p.loss))  lr \(String(format: "%.3g", p.learningRate))  \(p.microBatch)×\(p.accumulation) @\(p.resolution)px  \(fixed(p.samplesPerSecond, digits: 1)) img/s  mem \(formatBytes(p.peakBytes))\(budget)  eta \(duration(p.epochSecondsLeft))"
        if isTerminal {
            print("\r\u{1B}[2K" + line, terminator: "")
            fflush(nil)  // every output stream: stdout without touching the global
            lineIsOpen = true
        } else if Date().timeIntervalSince(lastPlainLine) >= 10 || p.stepInEpoch == p.stepsInEpoch {
            print(line)
            lastPlainLine = Date()
        }
    }

    /// A line of its own, closing the live progress line first.
    func say(_ text: String) {
        if lineIsOpen {
            print("")
            lineIsOpen = false
        }
        print(text)
        fflush(nil)  // every output stream: stdout without touching the global
    }

    private func fixed(_ value: Double, digits: Int = 4) -> String { String(format: "%.\(digits)f", value) }
    private func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}

/// "stem,layer1 (+9% compute)", "streaming through layer2 in 8 bands, the rest recomputed
/// (+520% compute; +25% with --freeze-bn)", or "off" when the plan keeps every activation.
func checkpointingSummary(_ plan: ResolutionPlan) -> String {
    guard let what = recomputingText(plan.checkpointedSegments, plan.streaming, verb: false) else { return "off" }
    let percent = { (overhead: Double) in "+\(Int((overhead * 100).rounded()))%" }
    let frozen = plan.frozenBatchNormOverhead.map { "; \(percent($0)) with --freeze-bn" } ?? ""
    return "\(what) (\(percent(plan.recomputeOverhead)) compute\(frozen))"
}

/// "recomputing stem,layer1" or "streaming through layer2 in 8 bands, the rest recomputed".
func recomputingText(_ segments: [ResNet.Segment]?, _ streaming: ResNet.Streaming?, verb: Bool = true) -> String? {
    if let streaming { return "streaming \(streaming), the rest recomputed" }
    guard let segments, !segments.isEmpty else { return nil }
    return (verb ? "recomputing " : "") + segments.map(\.rawValue).joined(separator: ",")
}

/// Why `auto` checkpointing climbed, when it did.
func checkpointingReason(_ plan: ResolutionPlan) -> String? {
    guard let plain = plan.uncheckpointedMicroBatch else { return nil }
    return plain == 0 ? "no micro-batch fitted without it" : "without it the micro-batch was \(plain), below --min-micro-batch"
}
