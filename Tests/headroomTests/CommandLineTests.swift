import ArgumentParser
import Foundation
import Headroom
import TestSupport
import Torch
import Testing
@testable import headroom

@Suite struct CommandLineTests {
    @Test func demoRejectsAbsurdOptions() {
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["demo", "--epochs", "0"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["demo", "--memory-budget", "lots"]) }
    }

    /// --memory-budget and --device are parsed once, into typed values, when the command is.
    @Test func budgetAndDeviceAreTypedWhereTheyAreParsed() throws {
        let plan = try #require(try HeadroomCommand.parseAsRoot(["plan", "data", "--memory-budget", "1.5GiB", "--device", "cpu"]) as? Plan)
        #expect(plan.options.memory.memoryBudget == .bytes(1_610_612_736))
        #expect(plan.options.memory.device == .device(.cpu))
        for (option, value, says) in [("--memory-budget", "lots", "neither a percentage"), ("--device", "tpu", "auto, cpu, cuda or cuda:N")] {
            do {
                _ = try HeadroomCommand.parseAsRoot(["train", "data", "--out", "run", option, value])
                Issue.record("\(option) \(value) parsed")
            } catch {
                #expect(HeadroomCommand.message(for: error).contains(says), "\(HeadroomCommand.message(for: error))")
            }
        }
    }

    /// The slide options become one reading; their own mistakes are refused with what they take.
    @Test func slideOptionsParseIntoOneReading() throws {
        let plan = try #require(try HeadroomCommand.parseAsRoot(
            ["plan", "data", "--slide-mpp", "0.5", "--slide-eval", "whole", "--no-tissue-mask", "--slide-regions", "8"]) as? Plan)
        let config = plan.options.configuration()
        #expect(config.slide == SlideReading(view: .micronsPerPixel(0.5), tissueMask: false, evaluation: .whole))
        #expect(config.slideRegions == 8)
        #expect(try #require(try HeadroomCommand.parseAsRoot(["plan", "data"]) as? Plan).options.configuration().slide == nil)
        for (arguments, says) in [
            (["--slide-level=-1"], "--slide-level must be 0 or more"), (["--slide-mpp", "fine"], "not a positive number"),
            (["--slide-level", "1", "--slide-mpp", "0.5"], "give one"), (["--slide-regions", "0"], "--slide-regions must be"),
            (["--image-size", "40000"], "between 16 and 32768"),
        ] {
            expectTrainRefuses(arguments, saying: says)
        }
    }

    /// torchvision's train.py spelling of its recipe parses into the configuration.
    @Test func theReferenceRecipeParsesAsTorchvisionSpellsIt() throws {
        let plan = try #require(try HeadroomCommand.parseAsRoot([
            "plan", "data", "--auto-augment", "ta_wide", "--mixup-alpha", "0.2", "--cutmix-alpha", "1.0", "--random-erase", "0.1",
            "--model-ema", "--model-ema-steps", "16", "--norm-weight-decay", "0", "--val-resize-size", "232", "--image-size", "224",
        ]) as? Plan)
        let config = plan.options.configuration()
        #expect(config.augmentPolicy == .trivialAugmentWide)
        #expect(config.mixupAlpha == 0.2 && config.cutmixAlpha == 1.0 && config.randomErase == 0.1)
        #expect(config.modelEMA == EMASettings(decay: EMASettings.standardDecay, steps: 16))
        #expect(config.normWeightDecay == 0 && config.validationResizeSize == 232)
        #expect(config.problems().isEmpty, "\(config.problems())")
        // Nothing asked, nothing on.
        let plain = try #require(try HeadroomCommand.parseAsRoot(["plan", "data"]) as? Plan).options.configuration()
        #expect(plain.augmentPolicy == nil && plain.mixupAlpha == nil && plain.modelEMA == nil && plain.normWeightDecay == nil)
        for (arguments, says) in [
            (["--auto-augment", "autoaugment"], "none of torchvision's"), (["--random-erase", "2"], "--random-erase is a probability"),
            (["--model-ema-decay", "1.5"], "--model-ema-decay must be in [0, 1)"),
        ] {
            expectTrainRefuses(arguments, saying: says)
        }
    }

    /// `train data --out run ARGUMENTS` is refused with a message containing `says`.
    func expectTrainRefuses(_ arguments: [String], saying says: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try HeadroomCommand.parseAsRoot(["train", "data", "--out", "run"] + arguments)
            Issue.record("\(arguments) parsed", sourceLocation: sourceLocation)
        } catch {
            #expect(HeadroomCommand.message(for: error).contains(says), "\(HeadroomCommand.message(for: error))", sourceLocation: sourceLocation)
        }
    }

    @Test func subcommandsParse() throws {
        let demo = try #require(try HeadroomCommand.parseAsRoot(["demo", "--epochs", "3"]) as? Demo)
        #expect(demo.epochs == 3)
        #expect(try HeadroomCommand.parseAsRoot(["doctor"]) is Doctor)
    }

    /// Pointed at an ImageFolder's train/ (class folders inside), demo-data would add classes.
    @Test func demoDataRefusesAFolderThatHoldsSomethingElse() throws {
        let scratch = try TemporaryDirectory("headroom-demo-data")
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("circles"), withIntermediateDirectories: true)
        let command = try #require(try HeadroomCommand.parseAsRoot(["demo-data", scratch.url.path, "--train-per-class", "1", "--val-per-class", "1", "--width", "16", "--height", "16"]) as? DemoData)
        do {
            try command.run()
            Issue.record("wrote demo data beside circles/")
        } catch {
            #expect("\(error)".contains("already holds circles"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("train").path))
    }

    @Test func versionNamesLibtorch() {
        #expect(HeadroomCommand.configuration.version.contains("libtorch 2.11.0"))
    }
}

@Suite(.serialized) struct PlanCommandTests {
    let scratch: TemporaryDirectory
    let data: URL

    init() throws {
        var dataset = SyntheticDataset()
        dataset.trainPerClass = 2
        dataset.validationPerClass = 1
        scratch = try TemporaryDirectory("headroom-plan")
        data = scratch.url
        try dataset.write(to: data)
    }

    @Test func jsonFollowsTheDocumentedSchema() throws {
        let command = try #require(try HeadroomCommand.parseAsRoot([
            "plan", data.path, "--image-size", "64", "--batch-size", "4", "--memory-budget", "2GiB", "--device", "cpu", "--json",
        ]) as? Plan)
        let plan = try RunPlan.make(for: command.options.configuration())
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan)) as? [String: Any])
        #expect(Set(object.keys) == ["device", "precision", "budget_bytes", "effective_batch", "headroom", "resolutions", "loader"])
        let loader = try #require(object["loader"] as? [String: Int])
        #expect(Set(loader.keys) == ["prefetched_bytes", "decode_bytes_per_worker", "workers", "sampled_images", "total_bytes"])
        #expect(loader["prefetched_bytes"] == 3 * 4 * 3 * 64 * 64)
        #expect(loader["sampled_images"] == 10)  // the whole training set: 5 classes of 2
        let rows = try #require(object["resolutions"] as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(Set(rows[0].keys) == [
            "resolution", "micro_batch", "accumulation", "micro_batch_sizes", "predicted_peak_bytes", "verified_peak_bytes",
            "budget_bytes", "fixed_bytes", "bytes_per_sample", "activation_checkpointing", "recompute_overhead", "measurements",
        ])
        #expect(rows[0]["micro_batch"] as? Int == 4)  // 2 GiB holds a batch of four at 64 px
        #expect(rows[0]["activation_checkpointing"] as? [String] == [])  // and needs no recompute
        #expect(rows[0]["recompute_overhead"] as? Double == 0)
        try Device.cpu.setMemoryBudget(bytes: nil)
    }

    @Test func anImpossibleBudgetExitsWithStatusTwo() throws {
        let command = try #require(try HeadroomCommand.parseAsRoot([
            "plan", data.path, "--image-size", "256", "--batch-size", "4", "--memory-budget", "100MiB", "--device", "cpu",
        ]) as? Plan)
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        #expect(throws: ExitCode(2)) { try command.run() }
    }

    @Test func trainRefusesBadOptionsAtParseTime() {
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x", "--lr", "0"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x", "--batch-size", "0"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x", "--model", "vgg16"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x", "--resize-schedule", "256:x"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", data.path]) }  // no --out
        #expect((try? HeadroomCommand.parseAsRoot(["train", "--resume", "/tmp/run"])) is Train)
        // --resume uses the stored data: other data named with it is refused, not ignored.
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", data.path, "--resume", "/tmp/run"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", "--resume", "/tmp/run", "--out", "/tmp/y"]) }
        // …and so are settings it would ignore; --epochs (train longer) is not one.
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["train", "--resume", "/tmp/run", "--lr", "0.5"]) }
        #expect((try? HeadroomCommand.parseAsRoot(["train", "--resume", "/tmp/run", "--epochs", "20"])) is Train)
        do {
            _ = try HeadroomCommand.parseAsRoot(["train", "--resume", "/tmp/run", "--lr", "0.5", "--seed", "3"])
        } catch {
            #expect(HeadroomCommand.message(for: error).contains("learningRate, seed"), "\(HeadroomCommand.message(for: error))")
        }
        for scale in ["0", "0.5,0.2", "0.3,1.5", "a", "0.2,0.5,1"] {
            #expect(throws: (any Error).self, "\(scale)") {
                try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x", "--crop-scale", scale])
            }
        }
    }

    @Test func cropScaleReachesTheConfiguration() throws {
        func scale(_ arguments: [String]) throws -> ClosedRange<Double>? {
            let train = try #require(try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x"] + arguments) as? Train)
            return train.options.configuration().cropScale
        }
        #expect(try scale([]) == nil)  // torchvision's 0.08…1
        #expect(try scale(["--crop-scale", "0.35"]) == 0.35...1)
        #expect(try scale(["--crop-scale", "0.2,0.9"]) == 0.2...0.9)
    }

    /// PIL's limit unless raised; `none` lifts it; nonsense is refused before anything runs.
    @Test func thePixelLimitReachesTheDecoders() throws {
        func configuration(_ arguments: [String]) throws -> TrainingConfiguration {
            try #require(try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x"] + arguments) as? Train).options.configuration()
        }
        #expect(try configuration([]).maxImagePixels == nil)
        #expect(try configuration([]).imageDecoder.pixelLimit == 178_956_970)
        #expect(try configuration(["--max-image-pixels", "300000000"]).imageDecoder.pixelLimit == 300_000_000)
        #expect(try configuration(["--max-image-pixels", "1e9"]).imageDecoder.pixelLimit == 1_000_000_000)
        #expect(try configuration(["--max-image-pixels", "none"]).imageDecoder.pixelLimit == nil)
        for bad in ["0", "-5", "1.5", "lots", ""] {
            #expect(throws: (any Error).self, "\(bad)") {
                try HeadroomCommand.parseAsRoot(["train", data.path, "--out", "/tmp/x", "--max-image-pixels", bad])
            }
        }
        let predict = try #require(try HeadroomCommand.parseAsRoot(["predict", "model", "a.png", "--max-image-pixels", "none"]) as? Predict)
        #expect(predict.options.decoder.pixelLimit == nil)
        let evaluate = try #require(try HeadroomCommand.parseAsRoot(["evaluate", "model", data.path]) as? Evaluate)
        #expect(evaluate.options.decoder.pixelLimit == 178_956_970)
    }

    /// The report lists the settings as `headroom train` flags: each must be one.
    @Test func theReportsFlagsAreTrainsFlags() {
        var config = TrainingConfiguration(trainPath: "t", validationPath: "v")
        config.resizeSchedule = ResizeSchedule(parsing: "64:1,128")
        config.forcedMicroBatch = 4
        config.freezeBackbone = true
        config.freezeBatchNorm = true
        config.gradientClipNorm = 1
        config.channelsLast = false
        config.nesterov = true
        config.checkpointEverySteps = 10
        let help = Train.helpMessage()
        for row in config.commandLine(device: "cpu", precision: .fp32, budgetBytes: 1 << 30, worldSize: 2) {
            #expect([" ", "\n", "/"].contains { help.contains(row.flag + $0) }, "\(row.flag) is not a flag of headroom train")
        }
    }
}
