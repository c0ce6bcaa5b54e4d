import ArgumentParser
import Foundation
import Headroom
import Torch

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure and print the memory plan: the micro-batch and accumulation for each resolution.",
        discussion: "Takes the same options as train; runs a few real training steps per resolution and writes nothing."
    )

    @OptionGroup var options: TrainingOptions

    @Flag(help: "Print the plan as JSON (schema in docs/memory.md).")
    var json = false

    @Flag(help: "Print each measured step as it ends (on standard error): what it ran, its peak and its time.")
    var verbose = false

    @Option(help: .hidden)  // benchmarks: measure one step at this micro-batch instead of planning
    var probeBatch: Int?

    /// `4224 px × 1, through layer2 in 10 bands: 1.69 GiB in 212.4 s`.
    static func printStep(_ step: ProbedStep) {
        let cut = step.streaming.map { "streamed \($0)" }
            ?? (step.recomputed.isEmpty ? "nothing recomputed" : "recomputing " + step.recomputed.sorted().map(\.rawValue).joined(separator: ","))
        let peak = step.peakBytes.map(formatBytes) ?? "out of memory"
        printError("measured \(step.resolution) px × \(step.batch), \(cut): \(peak) in \(String(format: "%.1f", step.seconds)) s")
    }

    func validate() throws {
        guard options.hasData else { throw ValidationError("give a data folder holding train/ and val/, or --train and --val") }
    }

    func run() throws {
        if let batch = probeBatch {
            let peak = try RunPlan.measure(options.configuration(), batch: batch)
            print("{\"batch\": \(batch), \"peak_bytes\": \(peak.map(String.init) ?? "null")}")
            return
        }
        let plan: RunPlan
        do {
            let observer: ((ProbedStep) -> Void)? = verbose ? { Self.printStep($0) } : nil
            plan = try RunPlan.make(for: options.configuration(), onProbedStep: observer)
        } catch let error as TrainingSetupError {
            printError("headroom plan: \(error.description)")
            throw ExitCode(2)
        } catch let error as PlanningError {
            FileHandle.standardError.write(Data("headroom plan: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if json {
            print(try jsonText(plan))
            return
        }
        // On CPU, what the budget is measured against: the host, the container or ulimit -v.
        // (Named, not sized: the probes have since grown what the process maps.)
        let bound = plan.device == "cpu" ? (try? HostMemory.read()).map { "; bounded by \($0.binding)" } ?? "" : ""
        print("device \(plan.device), \(plan.precision.rawValue); budget \(formatBytes(plan.budgetBytes)) (\(Int(plan.headroom * 100))% kept free\(bound)); effective batch \(plan.effectiveBatch)")
        let header = ["resolution", "micro-batch", "accumulation", "checkpointing", "predicted peak", "verified peak", "budget"]
        let rows = plan.resolutions.map { row in
            [
                "\(row.resolution) px", "\(row.microBatch)", "\(row.accumulation.steps) (\(AccumulationPlan.describe(row.accumulation.sizes)))",
                checkpointingSummary(row),
                // A forced micro-batch is not measured: say so rather than print a peak of 0 B.
                row.measurements.isEmpty ? "not measured" : formatBytes(row.predictedPeakBytes),
                row.measurements.isEmpty ? "(--micro-batch)" : formatBytes(row.verifiedPeakBytes), formatBytes(row.budgetBytes),
            ]
        }
        for line in TextTable.lines([header] + rows) { print(line) }
        for row in plan.resolutions {
            if let reason = checkpointingReason(row) { print("\(row.resolution) px: checkpointing because \(reason)") }
        }
        let loader = plan.loader
        let largest = loader.largestImage.map { ", largest \($0.width)×\($0.height)" } ?? ""
        print(
            "loader (host memory): \(formatBytes(loader.totalBytes)) = 3 prefetched batches \(formatBytes(loader.prefetchedBytes))"
                + " + \(loader.workers) workers × up to \(formatBytes(loader.decodeBytesPerWorker)) decoding"
                + " (from \(loader.sampledImages) sampled headers\(largest)); on the CPU all of it is planned into the budget")
    }
}
