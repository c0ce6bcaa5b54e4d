import ArgumentParser
import Foundation
import Headroom
import Torch

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train on a generated image set under a tight memory budget: planning, OOM recovery, report.",
        discussion: """
            Writes a small five-class image set (checkers, circles, squares, stripes, triangles; 160x120 JPEGs \
            and PNGs), then trains ResNet-18 on it from scratch with progressive resizing (64 px, then 128 px) and a \
            memory budget small enough that at 128 px the planner must accumulate and recompute the stem. In the last \
            epoch another tenant takes part of the budget for a few steps (simulated): the run recovers from the \
            out-of-memory errors without losing a sample, then grows back.
            """
    )

    @Option(help: "Where to write the generated images.")
    var data = "runs/demo-data"

    @Option(help: "The run directory (replaced if it holds an earlier demo).")
    var out = "runs/demo"

    @Option(help: "The memory budget.", transform: MemoryBudget.init(argument:))
    var memoryBudget = MemoryBudget.bytes(330 << 20)

    @Option(help: "Epochs to train.")
    var epochs = 8

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    }

    func run() throws {
        let printer = ProgressPrinter()
        let root = URL(fileURLWithPath: data)
        printer.say("writing the demo images to \(root.path)")
        // 500 training images: 15 steps of 32 per epoch, as the pressure schedule below counts.
        var dataset = SyntheticDataset()
        dataset.trainPerClass = 100
        dataset.validationPerClass = 20
        let (train, validation) = try dataset.write(to: root)
        let runDirectory = URL(fileURLWithPath: out)
        try? FileManager.default.removeItem(at: runDirectory)

        var config = TrainingConfiguration(trainPath: train.path, validationPath: validation.path)
        config.epochs = epochs
        config.batchSize = 32
        // Most epochs at 64 px, where a step is cheap; the last two at 128 px, where the budget bites.
        // (32 or 48 px, then 96 px, took 48–60 s but ended at 67–69% top-1.)
        config.resizeSchedule = ResizeSchedule(parsing: "64:\(max(1, epochs - 2)),128")
        config.imageSize = 128
        // At 128 px and 330 MiB, 15 samples fit without recomputation: asking for at least 16
        // shows the checkpointing rung (the stem, +2% compute) where the default floor of 8 would not.
        config.minimumMicroBatch = 16
        // From scratch: AdamW learns these shapes in fewer steps than SGD, and crops of at least
        // a third of the image keep the shapes in view.
        config.optimizer = .adamw
        config.learningRate = 0.002
        config.weightDecay = 0.05
        config.warmupEpochs = 1
        config.cropScale = 0.35...1
        config.memoryBudget = memoryBudget
        config.device = .device(.cpu)
        // fp32 on every CPU, so the plan and the recoveries are the same wherever it runs
        // (`auto` would pick bf16 on CPUs with native bf16 and need half the memory).
        config.precision = .fp32
        config.growthPatience = 4
        // Simulated pressure: another tenant takes 100 MiB for five steps of the last epoch.
        let steps = epochs * 15
        config.memoryPressure = .init(fromStep: steps - 8, untilStep: steps - 3, bytes: 100 << 20)

        let trainer = try Trainer(configuration: config, runDirectory: runDirectory, observer: { printer.handle($0) })
        let signals = StopSignals { trainer.requestStop() }
        defer { signals.cancel() }
        let summary = try trainer.run()
        printer.say("")
        printer.say("trained \(summary.samplesSeen) samples in \(summary.globalSteps) steps; \(summary.outOfMemoryRecoveries) out-of-memory errors recovered, no sample lost")
        if let best = summary.bestTop1 { printer.say("best validation top-1: \(String(format: "%.1f%%", best * 100))") }
        printer.say("report:      \(runDirectory.appendingPathComponent("report.html").path)")
        printer.say("metrics:     \(runDirectory.appendingPathComponent("metrics.jsonl").path)")
        printer.say("checkpoint:  \(runDirectory.appendingPathComponent("checkpoints/best.safetensors").path)")
        printer.say("tensorboard: tensorboard --logdir \(runDirectory.appendingPathComponent("tensorboard").path)")
    }
}
