import Foundation
import Headroom
import TestSupport
import Testing
import Torch

/// Data-parallel training end to end: the built `headroom` binary as 1, 2 (or 3) worker
/// processes on 127.0.0.1, Gloo on the CPU, 32 px images, three optimiser steps an epoch,
/// in float64 so that "the same steps" means the same to rounding on any CPU.
@Suite(.serialized) struct DistributedTrainingTests {
    let scratch: TemporaryDirectory
    var root: URL { scratch.url }
    let data: URL

    /// Three classes of 40×40 images, `perClass` each for training and one for validation:
    /// the sizes the step counts below are written for.
    static func smallDataset(perClass: Int) -> SyntheticDataset {
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "squares", "stripes"]
        dataset.trainPerClass = perClass
        dataset.validationPerClass = 1
        dataset.width = 40
        dataset.height = 40
        return dataset
    }

    init() throws {
        scratch = try TemporaryDirectory("headroom-dist")
        let dataset = Self.smallDataset(perClass: 8)  // 24 samples: three steps of 8
        data = scratch.url.appendingPathComponent("data")
        _ = try dataset.write(to: data)
    }

    /// The options every run here shares; `micro` is the micro-batch forced on the process.
    func arguments(out: URL, micro: Int, extra: [String] = []) -> [String] {
        [
            "train", data.path, "--out", out.path, "--image-size", "32", "--batch-size", "8", "--epochs", "1", "--lr", "0.05",
            "--micro-batch", "\(micro)", "--device", "cpu", "--precision", "fp64", "--workers", "1", "--threads", "1", "--freeze-bn",
            "--dist-timeout", "20",
        ] + extra
    }

    /// Every tensor of the run's last checkpoint, by name.
    func weights(of run: URL) throws -> [String: [Double]] {
        let file = run.appendingPathComponent("checkpoints/last.safetensors")
        let tensors = try ModelFile.read(file).tensors
        return try Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, try $0.tensor.to(dtype: .float64).array(of: Double.self)) })
    }

    /// Every tensor of two runs' weights, name by name: the same to float64 rounding (the
    /// gradient sums of several ranks are taken in another order than one rank's).
    func expectSameWeights(_ a: [String: [Double]], _ b: [String: [Double]], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.keys.sorted() == b.keys.sorted(), sourceLocation: sourceLocation)
        let names = a.keys.sorted().filter { b[$0] != nil }
        expectClose(names.map { a[$0]! }, names.map { b[$0]! }, within: .exactInFloat64, sourceLocation: sourceLocation)
    }

    /// Channels-last weights get channels-last gradient places in the buckets, as DDP makes
    /// them: no "gradient layout contract" warning from every rank (and no copy), and the
    /// steps are still one process's, to float64 rounding.
    @Test func channelsLastGradientsLiveInTheBucketsInTheirLayout() throws {
        let single = root.appendingPathComponent("single-channels-last")
        let one = try Worker.run(arguments(out: single, micro: 8, extra: ["--channels-last"]))
        try #require(one.status == 0, "\(one.output)")
        let launched = root.appendingPathComponent("launched-channels-last")
        let two = try Worker.run(
            arguments(out: launched, micro: 4, extra: ["--channels-last", "--nproc-per-node", "2", "--master-port", "\(freeTCPPort())"]))
        try #require(two.status == 0, "\(two.output)")
        #expect(!two.output.contains("gradient layout contract"), "\(two.output)")
        expectSameWeights(try weights(of: launched), try weights(of: single))
    }

    @Test func twoProcessesTakeTheStepsOfOneEvenWithDifferentMicroBatches() throws {
        let single = root.appendingPathComponent("single")
        let one = try Worker.run(arguments(out: single, micro: 8))
        try #require(one.status == 0, "\(one.output)")
        let reference = try weights(of: single)
        // The run's args.yaml runs it again (timm's -c args.yaml): the same weights.
        let rerun = root.appendingPathComponent("rerun")
        let again = try Worker.run(["train", "--config", single.appendingPathComponent("args.yaml").path, "--out", rerun.path])
        try #require(again.status == 0, "\(again.output)")
        expectSameWeights(try weights(of: rerun), reference)

        // The launcher: two workers, each half of every step in one micro-batch of 4.
        let launched = root.appendingPathComponent("launched")
        let two = try Worker.run(arguments(out: launched, micro: 4, extra: ["--nproc-per-node", "2", "--master-port", "\(freeTCPPort())"]))
        try #require(two.status == 0, "\(two.output)")
        expectSameWeights(try weights(of: launched), reference)
        // --dist-backend auto on CPUs: Gloo, and nothing to explain.
        #expect(two.output.contains("collectives") && two.output.contains("Gloo") && !two.output.contains("NCCL"), "\(two.output)")

        // torchrun's way, a different micro-batch on each rank (2 and 1).
        let uneven = root.appendingPathComponent("uneven")
        let workers = try twoWorkers { rank in self.arguments(out: uneven, micro: rank == 0 ? 2 : 1) }
        expectSameWeights(try weights(of: uneven), reference)
        // Only rank 0 wrote the run directory; rank 1 printed nothing (it had no warnings).
        #expect(workers[1].output.isEmpty, "\(workers[1].output)")
    }

    /// MixUp/CutMix pair each sample with the one before it in the whole step, so two ranks
    /// loading halves of it mix the pairs one process mixes (rolling each rank's half, as
    /// torchvision rolls each GPU's batch, would not).
    @Test func mixingPairsAcrossRanksAsOneProcessPairs() throws {
        let recipe = ["--mixup-alpha", "0.2", "--cutmix-alpha", "1.0", "--random-erase", "0.5"]
        let single = root.appendingPathComponent("single-mixed")
        let one = try Worker.run(arguments(out: single, micro: 8, extra: recipe))
        try #require(one.status == 0, "\(one.output)")
        let launched = root.appendingPathComponent("launched-mixed")
        let two = try Worker.run(
            arguments(out: launched, micro: 2, extra: recipe + ["--nproc-per-node", "2", "--master-port", "\(freeTCPPort())"]))
        try #require(two.status == 0, "\(two.output)")
        expectSameWeights(try weights(of: launched), try weights(of: single))
    }

    /// Rank 1 under a budget that holds micro-batches of 8 but not 16, at 160 px in shares of 16.
    /// Before any of its gradients are launched it retries alone; after, it finishes the
    /// buckets, flags the failure in the small all-reduce, and both ranks repeat the step.
    /// Either way the step is the one taken without the squeeze.
    @Test(arguments: [
        ([] as [String], "forward", false),
        // Without checkpointing, backward's peak is its start, before any bucket is complete;
        // with every segment recomputed it is the stem's recompute, at the end of backward,
        // long after the last layers' bucket was launched.
        (["--activation-checkpointing", "all"], "backward", true),
    ])
    func anOutOfMemoryOnOneRankIsRecoveredWithoutDeadlock(extra: [String], phase: String, everyRank: Bool) throws {
        let runs = try SqueezeRuns(self, name: "oom-\(phase)", extra: extra)
        let budget = phase == "forward" ? runs.peak8 + (4 << 20) : runs.peak16 - (4 << 20)
        let squeezed = root.appendingPathComponent("oom-squeezed-\(phase)")
        let workers = try twoWorkers { rank in runs.options(squeezed, 16, rank == 1 ? budget : nil) }
        #expect(workers[1].output.contains("[rank 1] out of memory in \(phase)"), "\(workers[1].output)")
        #expect(workers[1].output.contains("every rank repeats the step") == everyRank, "\(workers[1].output)")
        // Rank 0 never ran out of memory; it says when it repeated the step for rank 1.
        #expect(!ranOutOfMemory(workers[0].output), "\(workers[0].output)")
        #expect(workers[0].output.contains("repeated: another rank ran out of memory") == everyRank, "\(workers[0].output)")
        expectSameWeights(try weights(of: squeezed), try weights(of: runs.whole))
    }

    /// Whether a rank's output says it ran out of memory itself (rank 0's lines are untagged).
    func ranOutOfMemory(_ output: String) -> Bool {
        output.split(separator: "\n").contains { $0.hasPrefix("out of memory") || $0.contains("] out of memory") }
    }

    /// One step of 32 at 160 px in shares of 16, with `extra` options, run unsqueezed on both
    /// ranks at micro-batches of 16 and of 8: where activations outweigh accumulation, so the
    /// two peaks leave room for a budget between them.
    struct SqueezeRuns {
        let options: (URL, Int, Int?) -> [String]
        let whole: URL
        let halves: URL
        let peak8: Int
        let peak16: Int

        init(_ tests: DistributedTrainingTests, name: String, extra: [String]) throws {
            let images = tests.root.appendingPathComponent("oom-data")
            if !FileManager.default.fileExists(atPath: images.path) {
                _ = try DistributedTrainingTests.smallDataset(perClass: 11).write(to: images)
            }
            options = { out, micro, budget in
                var list = tests.arguments(out: out, micro: micro, extra: ["--image-size", "160", "--batch-size", "32"] + extra
                    + (budget.map { ["--memory-budget", "\($0)"] } ?? []))
                if extra.contains("--sync-bn") { list.removeAll { $0 == "--freeze-bn" } }
                list[1] = images.path
                if let at = list.firstIndex(of: "8"), list[at - 1] == "--batch-size" { list.removeSubrange((at - 1)...at) }
                return list
            }
            whole = tests.root.appendingPathComponent("\(name)-16")
            halves = tests.root.appendingPathComponent("\(name)-8")
            let (options, whole, halves) = (options, whole, halves)
            _ = try tests.twoWorkers { _ in options(whole, 16, nil) }
            _ = try tests.twoWorkers { _ in options(halves, 8, nil) }
            peak16 = try tests.peakBytes(in: whole)
            peak8 = try tests.peakBytes(in: halves)
            try #require(peak8 + (8 << 20) < peak16, "peaks \(peak8) and \(peak16)")
        }
    }

    @Test func syncBatchNormTrainsAsOneProcessWithBatchNormTraining() throws {
        // BatchNorm in training mode: one process's step over all 8 samples at once...
        func unfrozen(_ out: URL, micro: Int, extra: [String] = []) -> [String] {
            arguments(out: out, micro: micro, extra: extra).filter { $0 != "--freeze-bn" }
        }
        let single = root.appendingPathComponent("sync-single")
        let one = try Worker.run(unfrozen(single, micro: 8))
        try #require(one.status == 0, "\(one.output)")
        let reference = try weights(of: single)
        // ...is two ranks' halves (4 + 4) and three ranks' shares (3 + 3 + 2) with --sync-bn,
        // running statistics included.
        for (world, micro) in [(2, 4), (3, 3)] {
            let out = root.appendingPathComponent("sync-\(world)")
            let run = try Worker.run(unfrozen(out, micro: micro, extra: [
                "--sync-bn", "--nproc-per-node", "\(world)", "--master-port", "\(freeTCPPort())",
            ]))
            try #require(run.status == 0, "\(run.output)")
            expectSameWeights(try weights(of: out), reference)
        }
    }

    @Test func underSyncBatchNormAnOutOfMemoryOnOneRankRepeatsTheStepOnEveryRank() throws {
        // BatchNorm synchronised, unfrozen.
        let runs = try SqueezeRuns(self, name: "sync-oom", extra: ["--sync-bn"])
        let reference = try weights(of: runs.halves)

        // Rank 1 alone under a budget that holds micro-batches of 8 but not 16: just above 8's
        // peak it fails while activations pile up (forward); just under 16's, in backward. Either way
        // both ranks drop the attempt and train the step again in micro-batches of 8 — the
        // step two ranks at 8 take (BatchNorm's groups are the micro-batches).
        for (budget, phase) in [(runs.peak8 + (4 << 20), "forward"), (runs.peak16 - (4 << 20), "backward")] {
            let squeezed = root.appendingPathComponent("sync-oom-\(phase)")
            let workers = try twoWorkers { rank in runs.options(squeezed, 16, rank == 1 ? budget : nil) }
            #expect(workers[1].output.contains("[rank 1] out of memory in \(phase)"), "\(workers[1].output)")
            #expect(workers[1].output.contains("every rank repeats the step"), "\(workers[1].output)")
            #expect(!ranOutOfMemory(workers[0].output), "\(workers[0].output)")
            #expect(workers[0].output.contains("repeated: another rank ran out of memory"), "\(workers[0].output)")
            expectSameWeights(try weights(of: squeezed), reference)
            let steps = try records(in: squeezed, type: "step")
            #expect(steps.count == 1 && steps.first?["micro_batch"] as? Int == 8, "\(steps)")
        }
    }

    /// Two torchrun-style workers to the end; both must succeed.
    func twoWorkers(_ arguments: (Int) -> [String]) throws -> [Worker] {
        let port = freeTCPPort()
        let workers = try (0..<2).map { rank in try Worker(arguments(rank), environment: Worker.torchrun(rank: rank, of: 2, port: port)) }
        for worker in workers {
            let status = worker.wait(timeout: 120)
            try #require(status == 0, "\(worker.output)")
        }
        return workers
    }

    /// The largest per-step peak rank 0 logged.
    func peakBytes(in run: URL) throws -> Int {
        try records(in: run, type: "step").compactMap { $0["peak_bytes"] as? Int }.max() ?? 0
    }

    /// Rank 0 serves the rendezvous: killed, the survivor says so in one line, without the C++
    /// backtrace libtorch's store logs for the broken socket (#35: 20 frames before the message).
    @Test func killingRankZeroLeavesOneClearMessage() throws {
        let workers = try twoWorkersPastStep(1, run: root.appendingPathComponent("killed-zero"), data: "killed-zero-data")
        kill(workers[0].process.processIdentifier, SIGKILL)
        let status = workers[1].wait(timeout: 120)
        #expect(status != 0 && status != nil, "\(workers[1].output)")
        #expect(workers[1].output.contains("[rank 1] headroom train: another worker died or stopped answering: rank 0"), "\(workers[1].output)")
        #expect(!workers[1].output.contains("frame #"), "\(workers[1].output)")
    }

    /// Two torchrun-style workers on 96 samples (12 steps of 8, a checkpoint after every step),
    /// returned once a checkpoint past `step` is on disk.
    func twoWorkersPastStep(_ step: Int, run: URL, data name: String) throws -> [Worker] {
        let data = root.appendingPathComponent(name)
        _ = try Self.smallDataset(perClass: 32).write(to: data)
        var options = arguments(out: run, micro: 4, extra: ["--checkpoint-every", "1"])
        options[1] = data.path
        let port = freeTCPPort()
        let workers = try (0..<2).map { rank in try Worker(options, environment: Worker.torchrun(rank: rank, of: 2, port: port)) }
        let checkpointer = Checkpointer(runDirectory: run)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? checkpointer.latest())?.state.globalStep ?? 0) < step { Thread.sleep(forTimeInterval: 0.02) }
        return workers
    }

    @Test func aKilledWorkerStopsTheOtherAndTheRunResumesAtAnyWorldSize() throws {
        let run = root.appendingPathComponent("killed")
        let workers = try twoWorkersPastStep(2, run: run, data: "bigger")
        let checkpointer = Checkpointer(runDirectory: run)
        kill(workers[1].process.processIdentifier, SIGKILL)
        // It stops on its own (nil would mean it was still waiting when the test killed it).
        let status = workers[0].wait(timeout: 120)
        #expect(status != 0 && status != nil, "\(workers[0].output)")
        #expect(workers[0].output.contains("[rank 0] headroom train: another worker died"), "\(workers[0].output)")

        let saved = try #require(try checkpointer.latest()).state
        try #require(saved.epoch == 0 && saved.stepInEpoch >= 2 && saved.stepInEpoch < 12, "killed too late: \(saved.stepInEpoch)")

        // World size 3 carries on from a copy (shares of 3, 3 and 2 samples).
        let copy = root.appendingPathComponent("killed-3")
        try FileManager.default.copyItem(at: run, to: copy)
        let three = try Worker.run([
            "train", "--resume", copy.path, "--nproc-per-node", "3", "--master-port", "\(freeTCPPort())", "--dist-timeout", "20",
        ])
        #expect(three.status == 0, "\(three.output)")
        let resumedSteps = try stepNumbers(in: copy).filter { $0 > saved.globalStep }
        #expect(resumedSteps == Array((saved.globalStep + 1)...12))

        // World size 1, in this process, to see which samples each step takes.
        let collector = StepCollector()
        let trainer = try Trainer(
            configuration: saved.configuration, runDirectory: run, resume: true, observer: { collector.add($0) })
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let summary = try trainer.run()
        #expect(summary.epochsCompleted == 1)
        let order = EpochOrder(samples: 96, seed: saved.configuration.seed, epoch: 0)
        let before = (0..<saved.stepInEpoch).flatMap { order.samples(ofStep: $0, effectiveBatch: 8) }
        let after = collector.steps.flatMap(\.sampleIndices)
        #expect(collector.steps.first?.stepInEpoch == saved.stepInEpoch + 1)
        #expect(after == Array(order.indices[(saved.stepInEpoch * 8)..<96]))
        #expect((before + after).sorted() == Array(0..<96))
        // Both resumed runs end at the same weights: ten steps of gradient sums taken in another
        // order (three ranks against one); the sample order is checked exactly above.
        expectSameWeights(try weights(of: run), try weights(of: copy))
    }

    /// The planner's probe steps as a worker's steps run, gradients in the reducer's buckets:
    /// its verified peak is what the workers reach (it was one copy of the gradients, 45 MB, over).
    @Test func theVerifiedPeakIsWhatTheWorkersReach() throws {
        let out = root.appendingPathComponent("planned")
        let launched = try Worker.run([
            "train", data.path, "--out", out.path, "--image-size", "32", "--batch-size", "8", "--epochs", "1", "--device", "cpu",
            "--workers", "1", "--threads", "1", "--nproc-per-node", "2", "--master-port", "\(freeTCPPort())",
        ])
        try #require(launched.status == 0, "\(launched.output)")
        let plan = try #require(try records(in: out, type: "replan").first)
        let verified = try #require(plan["verified_peak_bytes"] as? Int)
        // Rank 0's steps after the first (which creates the momentum the probe's steps already have).
        let peaks = try records(in: out, type: "step").dropFirst().compactMap { $0["peak_bytes"] as? Int }
        let reached = try #require(peaks.max())
        let gradients = 11_178_051 * 4  // resnet18 with 3 classes, fp32
        #expect(abs(verified - reached) < gradients / 4, "verified \(verified), reached \(reached)")
    }

    @Test func ncclOnCPUWorkersIsAClearErrorBeforeAnyRendezvous() throws {
        let launched = try Worker.run(arguments(out: root.appendingPathComponent("nccl"), micro: 4, extra: [
            "--nproc-per-node", "2", "--master-port", "\(freeTCPPort())", "--dist-backend", "nccl",
        ]), timeout: 60)
        #expect(launched.status != 0)
        #expect(launched.output.contains("--dist-backend nccl runs collectives on CUDA tensors, but this worker trains on cpu"),
                "\(launched.output)")
    }

    @Test func aTakenPortIsAClearError() throws {
        let taken = PortHolder()
        let launched = try Worker.run(arguments(out: root.appendingPathComponent("taken"), micro: 4, extra: [
            "--nproc-per-node", "2", "--master-port", "\(taken.port)",
        ]))
        #expect(launched.status != 0)
        #expect(launched.output.contains("port \(taken.port)") && launched.output.contains("taken"), "\(launched.output)")

        // torchrun's way: rank 0 itself cannot serve the rendezvous.
        let worker = try Worker(
            arguments(out: root.appendingPathComponent("taken-torchrun"), micro: 4),
            environment: Worker.torchrun(rank: 0, of: 2, port: taken.port))
        let status = worker.wait(timeout: 60)
        #expect(status != 0 && status != nil)
        #expect(worker.output.contains("[rank 0]") && worker.output.contains("taken"), "\(worker.output)")
    }

    /// Plain, and with synchronised BatchNorm, whose collectives sit inside forward and backward.
    @Test(arguments: [[], ["--sync-bn"]]) func theLauncherNamesTheRankThatFailed(extra: [String]) throws {
        // Rank 1 of 2 is killed from outside while it trains.
        let out = root.appendingPathComponent("bad-rank\(extra.joined())")
        let images = root.appendingPathComponent("bad-rank-data")
        if !FileManager.default.fileExists(atPath: images.path) { _ = try Self.smallDataset(perClass: 32).write(to: images) }
        let port = freeTCPPort()
        var options = arguments(out: out, micro: 4, extra: ["--nproc-per-node", "2", "--master-port", "\(port)"] + extra)
            .filter { extra.isEmpty || $0 != "--freeze-bn" }
        options[1] = images.path
        let launcher = try Worker(options, environment: [:])
        // Find rank 1 among the launcher's children and kill it once it runs.
        let deadline = Date().addingTimeInterval(60)
        var killed = false
        while Date() < deadline && !killed {
            // Once a step is done, so that the kill lands inside a later one.
            let training = ((try? records(in: out, type: "step").count) ?? 0) >= 1
            for child in Worker.children(of: launcher.process.processIdentifier)
            where training && Worker.environment(of: child)["RANK"] == "1" {
                killed = kill(child, SIGKILL) == 0
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(killed)
        let status = launcher.wait(timeout: 60)
        #expect(status != 0 && status != nil)
        #expect(launcher.output.contains("rank 1 was killed by signal 9"), "\(launcher.output)")
        // Rank 0 stopped on its own, naming rank 1, rather than waiting out the timeout.
        #expect(launcher.output.contains("[rank 0] headroom train: another worker died or stopped answering: rank 1 did not answer"),
                "\(launcher.output)")
    }

    /// One process: a second Ctrl-C stops at once, and says what that leaves (it printed
    /// nothing, and exit 130 read as "stopped after a checkpoint").
    @Test func aSecondCtrlCStopsAtOnceAndSaysSo() throws {
        let dataset = Self.smallDataset(perClass: 32)
        let images = root.appendingPathComponent("second-signal-data")
        _ = try dataset.write(to: images)
        let out = root.appendingPathComponent("second-signal")
        var options = arguments(out: out, micro: 4)
        options[1] = images.path
        let process = try Worker(options, environment: [:])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? records(in: out, type: "step").count) ?? 0 < 1 { Thread.sleep(forTimeInterval: 0.02) }
        kill(process.process.processIdentifier, SIGINT)
        // Apart: two signals sent back to back can merge into one pending signal in the kernel.
        // The first stop still has its step and a checkpoint of ~90 MB to finish.
        Thread.sleep(forTimeInterval: 0.05)
        kill(process.process.processIdentifier, SIGINT)
        let status = process.wait(timeout: 60)
        #expect(status == 130, "\(process.output)")
        #expect(process.output.contains("stopped at once by a second signal") && process.output.contains("--resume"), "[\(process.output)]")
    }

    @Test func ctrlCStopsEveryWorkerAfterTheSameStepWithACheckpoint() throws {
        let dataset = Self.smallDataset(perClass: 32)
        let images = root.appendingPathComponent("interrupt-data")
        _ = try dataset.write(to: images)
        let out = root.appendingPathComponent("interrupted")
        var options = arguments(out: out, micro: 4, extra: ["--nproc-per-node", "2", "--master-port", "\(freeTCPPort())"])
        options[1] = images.path
        let launcher = try Worker(options, environment: [:])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? records(in: out, type: "step").count) ?? 0 < 1 { Thread.sleep(forTimeInterval: 0.02) }
        kill(launcher.process.processIdentifier, SIGINT)
        let status = launcher.wait(timeout: 60)
        #expect(status == 130, "\(launcher.output)")
        #expect(launcher.output.contains("stopped; resume with"), "\(launcher.output)")
        #expect(!launcher.output.contains("crashed"), "\(launcher.output)")
        let checkpoints = try records(in: out, type: "checkpoint")
        #expect(checkpoints.last?["reason"] as? String == "interrupt")
        let saved = try #require(try Checkpointer(runDirectory: out).latest()).state
        #expect(saved.stepInEpoch > 0 && saved.stepInEpoch < 12)
    }

    /// The records of one type in a run's metrics log.
    func records(in run: URL, type: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["type"] as? String == type else { return nil }
            return object
        }
    }

    /// The global step numbers in a run's metrics log.
    func stepNumbers(in run: URL) throws -> [Int] {
        try records(in: run, type: "step").compactMap { $0["step"] as? Int }
    }
}

/// A `headroom` process with its output (stdout and stderr together) collected.
final class Worker: @unchecked Sendable {
    // @unchecked: `buffer` is guarded by `lock`; the process is only waited on.
    let process = Process()
    private let lock = NSLock()
    private var buffer = Data()

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("headroom")
    }

    static func torchrun(rank: Int, of size: Int, port: Int) -> [String: String] {
        TorchrunEnvironment.localWorkerVariables(rank: rank, worldSize: size, masterAddress: "127.0.0.1", masterPort: port)
    }

    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        for key in ["RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"] { variables[key] = nil }
        process.environment = variables.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.withLock { self.buffer.append(chunk) }
        }
        try process.run()
    }

    var output: String { lock.withLock { String(decoding: buffer, as: UTF8.self) } }

    /// The exit status, or nil (after killing it) when it ran past `timeout` seconds.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.1)  // the last output
        return process.terminationStatus
    }

    static func run(_ arguments: [String], timeout: Double = 180) throws -> (status: Int32?, output: String) {
        let worker = try Worker(arguments, environment: [:])
        let status = worker.wait(timeout: timeout)
        return (status, worker.output)
    }

    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    static func environment(of pid: Int32) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        var result: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if let equals = text.firstIndex(of: "=") { result[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
        }
        return result
    }
}

final class StepCollector: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var collected: [StepProgress] = []
    var steps: [StepProgress] { lock.withLock { collected } }
    func add(_ event: TrainerEvent) {
        if case let .step(progress) = event { lock.withLock { collected.append(progress) } }
    }
}
