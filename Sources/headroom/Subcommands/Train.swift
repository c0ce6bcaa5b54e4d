import ArgumentParser
import Dispatch
import Foundation
import Headroom

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a classifier; the effective batch holds whatever memory allows per pass.",
        discussion: """
            DATA holds train/ and val/ in the ImageFolder layout (root/<class>/<image>). Everything the run \
            produces goes to --out: config.json, metrics.jsonl, report.html, tensorboard/, checkpoints/. \
            Ctrl-C saves a checkpoint and stops; --resume RUN_DIR continues at the exact sample.
            """
    )

    @OptionGroup var options: TrainingOptions

    @Option(help: "The run directory.")
    var out: String?

    @Option(help: "Continue the run in this directory from its latest checkpoint (its saved settings apply).")
    var resume: String?

    func validate() throws {
        if resume == nil {
            guard options.hasData else { throw ValidationError("give a data folder holding train/ and val/, or --train and --val") }
            guard out != nil else { throw ValidationError("give the run directory with --out RUN_DIR") }
        }
    }

    func run() throws {
        let printer = ProgressPrinter()
        let directory = URL(fileURLWithPath: resume ?? out!)
        let trainer: Trainer
        do {
            trainer = try Trainer(
                configuration: options.configuration(), runDirectory: directory, resume: resume != nil,
                epochs: resume != nil ? options.epochs : nil, observer: { printer.handle($0) })
        } catch let error as TrainingSetupError {
            throw ValidationError(error.description)
        }
        let signals = StopSignals { trainer.requestStop() }
        defer { signals.cancel() }
        let summary = try trainer.run()
        printer.say(summary.interrupted ? "stopped; resume with: headroom train --resume \(directory.path)" : "done")
        if let best = summary.bestTop1, let epoch = summary.bestEpoch {
            printer.say("best validation top-1 \(String(format: "%.1f%%", best * 100)) at epoch \(epoch + 1); \(summary.outOfMemoryRecoveries) out-of-memory recoveries")
        }
        printer.say("report: \(directory.appendingPathComponent("report.html").path)")
        printer.say("weights: \(directory.appendingPathComponent("checkpoints/best.safetensors").path)")
        if summary.interrupted { throw ExitCode(130) }
    }
}

/// SIGINT/SIGTERM: the first asks the trainer to stop cleanly, a second exits at once.
final class StopSignals: @unchecked Sendable {
    // @unchecked: the sources are only touched at init and cancel.
    private var sources: [any DispatchSourceSignal] = []

    init(onFirst: @escaping @Sendable () -> Void) {
        let count = Counter()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if count.increment() == 1 { onFirst() } else { exit(130) }
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }

    private final class Counter: @unchecked Sendable {
        // @unchecked: guarded by `lock`.
        private let lock = NSLock()
        private var value = 0
        func increment() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}
