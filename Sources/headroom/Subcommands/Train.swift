import ArgumentParser
import Dispatch
import Foundation
import Headroom
import Torch

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a classifier; the effective batch holds whatever memory allows per pass.",
        discussion: """
            DATA holds train/ and val/ in the ImageFolder layout (root/<class>/<image>). Everything the run \
            produces goes to --out: config.json, args.yaml (reruns it: --config), metrics.jsonl, report.html, \
            tensorboard/, checkpoints/. \
            Ctrl-C saves a checkpoint and stops; --resume RUN_DIR continues at the exact sample.
            """
    )

    @OptionGroup var options: TrainingOptions

    @Option(help: "The run directory.")
    var out: String?

    @Option(help: "Continue the run in this directory from its latest checkpoint (its saved settings apply).")
    var resume: String?

    @OptionGroup(title: "Several processes") var processes: ProcessOptions

    func validate() throws {
        if let count = processes.nprocPerNode, count < 1 || count > 1024 { throw ValidationError("--nproc-per-node must be between 1 and 1024 (got \(count))") }
        if !(1...65535).contains(processes.masterPort) { throw ValidationError("--master-port must be in 1…65535 (got \(processes.masterPort))") }
        if !(processes.distTimeout > 0) { throw ValidationError("--dist-timeout must be a positive number of seconds") }
        if !["on", "off"].contains(processes.allreduceOverlap) { throw ValidationError("--allreduce-overlap is on or off (got \(processes.allreduceOverlap))") }
        if resume == nil {
            guard options.hasData else { throw ValidationError("give a data folder holding train/ and val/, or --train and --val") }
            guard out != nil else { throw ValidationError("give the run directory with --out RUN_DIR") }
        } else if options.input.data != nil || options.input.train != nil || options.input.val != nil || out != nil {
            // Silently training on the stored data while the user named other data misleads.
            throw ValidationError("--resume continues with the run's stored data and directory: drop DATA, --train, --val and --out")
        } else {
            let ignored = try Self.settingsChanged(by: options)
            guard ignored.isEmpty else {
                throw ValidationError(
                    "--resume continues with the run's stored settings, so these would be ignored: \(ignored.joined(separator: ", ")) "
                        + "(as config.json names them); drop them (only --epochs and --memory-budget may change)")
            }
        }
    }

    /// The settings `options` sets away from their defaults, as config.json names them
    /// (paths, --epochs and --memory-budget aside: a resumed run may run longer, or on a
    /// machine with another amount of memory).
    static func settingsChanged(by options: TrainingOptions) throws -> [String] {
        func fields(_ configuration: TrainingConfiguration) throws -> [String: NSObject] {
            let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as? [String: Any] ?? [:]
            return object.compactMapValues { $0 as? NSObject }
        }
        let given = try fields(options.configuration())
        let defaults = try fields(TrainingOptions.parse([]).configuration())
        let exempt: Set<String> = ["trainPath", "validationPath", "epochs", "memoryBudget"]
        return Set(given.keys).union(defaults.keys).subtracting(exempt).filter { given[$0] != defaults[$0] }.sorted()
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if let count = processes.nprocPerNode, count > 1, environment["RANK"] == nil {
            return try launchWorkers(count)
        }
        let torchrun: TorchrunEnvironment?
        do {
            torchrun = try TorchrunEnvironment.read(environment)
        } catch {
            throw ValidationError("the torchrun environment: \(error)")
        }
        guard let worker = torchrun, worker.worldSize > 1 else {
            return try train(dataParallel: nil, restartCount: 0)
        }
        // A worker's failures name its rank; the launcher (or torchrun) reports which rank failed.
        var joined: DataParallel?
        do {
            let device: Device
            do {
                device = try options.memory.device.resolve(localRank: worker.localRank)
            } catch {
                throw DistributedSetupError(problems: ["--device \(options.memory.device): \(error)"])
            }
            let dataParallel = try DataParallel.join(worker, timeoutSeconds: processes.distTimeout, backend: processes.distBackend, device: device)
            joined = dataParallel
            dataParallel.overlapsAllReduce = processes.allreduceOverlap == "on"
            try train(dataParallel: dataParallel, restartCount: worker.restartCount)
        } catch let exit as ExitCode {
            throw exit
        } catch let error as TorchError {
            guard case .collectiveFailed = error else {
                printError("[rank \(worker.rank)] headroom train: \(error)")
                throw ExitCode(1)
            }
            printError(
                "[rank \(worker.rank)] headroom train: another worker died or stopped answering\(joined.map(Self.whoIsGone) ?? "") "
                    + "(\(error)). Its own message says why; "
                    + (worker.isRestartedOnFailure
                        ? "torchrun restarts the workers (restart \(worker.restartCount + 1) of \(worker.maximumRestarts ?? 0)), and they resume from the last checkpoint by themselves."
                        : "the run resumes from its last checkpoint with --resume."))
            throw ExitCode(1)
        } catch {
            printError("[rank \(worker.rank)] headroom train: \(error)")
            throw ExitCode(1)
        }
    }

    /// ": rank 1 is gone", from a roll call of the survivors through the rendezvous store.
    private static func whoIsGone(_ dataParallel: DataParallel) -> String {
        do {
            let missing = try dataParallel.group.missingRanks()
            guard !missing.isEmpty else { return "" }
            let names = missing.map { "rank \($0)" }.joined(separator: ", ")
            return ": \(names) did not answer a roll call within 3 s (killed, crashed or hung)"
        } catch {
            return ": rank 0, which serves the rendezvous, is gone"
        }
    }

    private func train(dataParallel: DataParallel?, restartCount: Int) throws {
        let printer = ProgressPrinter(rank: dataParallel?.rank)
        let directory = URL(fileURLWithPath: resume ?? out!)
        // Under torchrun's elastic restarts (every worker restarted after a failure) the run
        // continues from its last checkpoint by itself.
        var resuming = resume != nil
        if restartCount > 0 && !resuming, (try? Checkpointer(runDirectory: directory).latest()) != nil {
            resuming = true
            if dataParallel?.isWriter ?? true { printer.say("restart \(restartCount): resuming from the last checkpoint in \(directory.path)") }
        }
        let trainer: Trainer
        do {
            trainer = try Trainer(
                configuration: options.configuration(), runDirectory: directory, resume: resuming,
                epochs: resuming ? options.optimisation.epochs : nil, memoryBudget: resuming ? options.memory.memoryBudget : nil,
                dataParallel: dataParallel, torchrunRestart: restartCount,
                observer: { printer.handle($0) })
        } catch let error as TrainingSetupError {
            if let rank = dataParallel?.rank { throw TrainingSetupError(problems: error.problems.map { "[rank \(rank)] \($0)" }) }
            // The run cannot start (its data, weights or directory): no usage error, so no usage text.
            printError("headroom train: \(error.description)")
            throw ExitCode(2)
        }
        if !resuming, dataParallel?.isWriter ?? true {
            // The file that runs this again (timm's args.yaml): the command line, its --config expanded.
            let yaml = ConfigFile.yaml(reproducing: (try? ConfigFile.expand(ConfigFile.rawArguments())) ?? ConfigFile.rawArguments())
            try? Data(yaml.utf8).write(to: directory.appendingPathComponent("args.yaml"), options: .atomic)
        }
        let signals = StopSignals(
            atOnce: "headroom train: stopped at once by a second signal, without saving the current step; the last "
                + "checkpoint is kept: resume with headroom train --resume \(directory.path)"
        ) { trainer.requestStop() }
        defer { signals.cancel() }
        let summary = try trainer.run()
        guard dataParallel?.isWriter ?? true else {
            if summary.interrupted { throw ExitCode(130) }
            return
        }
        printer.say(summary.interrupted ? "stopped; resume with: headroom train --resume \(directory.path)" : "done")
        if let best = summary.bestTop1, let epoch = summary.bestEpoch {
            printer.say("best validation top-1 \(String(format: "%.1f%%", best * 100)) at epoch \(epoch + 1); \(summary.outOfMemoryRecoveries) out-of-memory recoveries")
        }
        printer.say("report: \(directory.appendingPathComponent("report.html").path)")
        printer.say("weights: \(directory.appendingPathComponent("checkpoints/best.safetensors").path)")
        if summary.interrupted { throw ExitCode(130) }
    }
}

extension Train {
    /// `--nproc-per-node N`: this process becomes the launcher of N workers (copies of itself
    /// with the torchrun variables set) and exits as they do.
    private func launchWorkers(_ count: Int) throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let launcher = LocalLauncher(
            executable: executable, arguments: Array(CommandLine.arguments.dropFirst()), count: count, masterAddress: processes.masterAddr,
            masterPort: processes.masterPort)
        let forwarder = SignalForwarder()
        let signals = ForwardedSignals(to: forwarder)
        defer { signals.cancel() }
        switch Result(catching: { () throws(LocalLauncher.LaunchError) in try launcher.run(signals: forwarder) }) {
        case .success:
            return
        case .failure(.interrupted):
            throw ExitCode(130)  // rank 0 said where to resume
        case let .failure(error):
            printError("headroom train: \(error)")
            throw ExitCode(1)
        }
    }
}

/// The launcher's SIGINT/SIGTERM: passed on to the workers, which stop cleanly together.
final class ForwardedSignals: @unchecked Sendable {
    // @unchecked: the sources are only touched at init and cancel.
    private var sources: [any DispatchSourceSignal] = []

    init(to forwarder: SignalForwarder) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            // Signals that arrive together are coalesced into one event: forward each of them.
            source.setEventHandler { for _ in 0..<max(1, Int(source.data)) { forwarder.deliver(number) } }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// SIGINT/SIGTERM: the first asks the trainer to stop cleanly, a second exits at once.
final class StopSignals: @unchecked Sendable {
    // @unchecked: the sources are only touched at init and cancel.
    private var sources: [any DispatchSourceSignal] = []

    /// `onFirst` asks for a stop after the current step (and its checkpoint); a second signal
    /// stops at once, after saying on stderr what that leaves (`atOnce`).
    init(atOnce: String = "stopped at once by a second signal", onFirst: @escaping @Sendable () -> Void) {
        let count = Counter()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                // Signals that arrive together are coalesced into one event: count them all.
                let received = count.increment(by: max(1, Int(source.data)))
                // _exit: exit() would run libtorch's static destructors under the training
                // thread, which crashes it mid-op (seen when a checkpoint was being saved).
                if received == 1 {
                    onFirst()
                } else {
                    FileHandle.standardError.write(Data("\n\(atOnce)\n".utf8))
                    _exit(130)
                }
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
        func increment(by count: Int) -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += count
            return value
        }
    }
}
