import Foundation
import Testing
@testable import HeadroomData
@testable import HeadroomReporting
@testable import HeadroomTraining

@Suite struct TrainingConfigurationTests {
    func configuration(_ optimizer: TrainingConfiguration.OptimizerKind, batch: Int, lr: Double? = nil) -> TrainingConfiguration {
        var config = TrainingConfiguration(trainPath: "t", validationPath: "v")
        config.optimizer = optimizer
        config.batchSize = batch
        config.learningRate = lr
        return config
    }

    /// torchvision's reference: 0.1 for 256 samples (8 GPUs × 32), scaled linearly.
    @Test func theDefaultLearningRateFollowsTheBatch() {
        #expect(configuration(.sgd, batch: 256).resolvedLearningRate == 0.1)
        #expect(configuration(.sgd, batch: 16).resolvedLearningRate == 0.00625)
        #expect(configuration(.sgd, batch: 1024).resolvedLearningRate == 0.4)
        #expect(configuration(.adamw, batch: 16).resolvedLearningRate == 1e-3)
        #expect(configuration(.adam, batch: 512).resolvedLearningRate == 1e-3)
        // Given, it is used as it is.
        #expect(configuration(.sgd, batch: 16, lr: 0.1).resolvedLearningRate == 0.1)
        #expect(configuration(.sgd, batch: 16, lr: -1).problems().contains { $0.contains("--lr") })
        #expect(configuration(.sgd, batch: 16).problems().isEmpty)
    }
}

/// The report's configuration table: the flags a user types, with units, and the resolved
/// values after `→`; carried through config.json to the report.
@Suite struct CommandLineSettingsTests {
    func rows(_ config: TrainingConfiguration, worldSize: Int = 1) -> [String: String] {
        let rows = config.commandLine(device: "cpu", precision: .fp32, budgetBytes: 350 << 20, worldSize: worldSize)
        return Dictionary(rows.map { ($0.flag, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func flagsCarryUnitsAndResolvedValues() {
        var config = TrainingConfiguration(trainPath: "data/train", validationPath: "data/val")
        config.batchSize = 16
        config.memoryBudget = .bytes(350 << 20)
        config.resizeSchedule = ResizeSchedule(parsing: "128:4,224")
        let given = rows(config, worldSize: 2)
        #expect(given["--memory-budget"] == "350.00 MiB")
        #expect(given["--batch-size"] == "16 per optimiser step, over 2 processes")
        #expect(given["--nproc-per-node"] == "2 processes (world size)")
        #expect(given["--lr"] == "0.00625 (default for a batch of 16)")
        #expect(given["--device"] == "auto → cpu" && given["--precision"] == "auto → fp32")
        #expect(given["--resize-schedule"] == "128:4,224" && given["--image-size"] == "224 px")
        #expect(given["--momentum"] == "0.9" && given["--crop-scale"] == "0.08,1")
        // Pasteable as given, and the layout the run used is there even when it was the default.
        config.cropScale = 0.35...1
        #expect(rows(config)["--crop-scale"] == "0.35,1")
        #expect(TrainingConfiguration.cropScale(parsing: "0.35,1") == 0.35...1)
        let layout = Dictionary(
            config.commandLine(device: "cpu", precision: .fp32, budgetBytes: 1 << 30, worldSize: 1, channelsLastInUse: true)
                .map { ($0.flag, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(layout["--channels-last"] == "default → on")
        config.memoryBudget = .fraction(0.5)
        config.optimizer = .adamw
        let fraction = rows(config)
        #expect(fraction["--memory-budget"] == "50.0% → 350.00 MiB")
        #expect(fraction["--momentum"] == nil)
        config.memoryBudget = nil
        #expect(rows(config)["--memory-budget"] == "default → 350.00 MiB")
    }

    @Test func theReportReadsThemFromConfigJSON() throws {
        let config = TrainingConfiguration(trainPath: "t", validationPath: "v")
        let rows = config.commandLine(device: "cpu", precision: .fp32, budgetBytes: 1 << 30, worldSize: 1)
        let record = RunRecord(
            configuration: config, device: "cpu", precision: .fp32, budgetBytes: 1 << 30, classNames: ["a", "b"],
            trainingSamples: 4, validationSamples: 2, plan: [], headroomVersion: "test", commandLine: rows)
        let parsed = try RunConfiguration(parsing: try JSONEncoder().encode(record))
        #expect(parsed.commandLine.map(\.key) == rows.map(\.flag) && parsed.commandLine.map(\.value) == rows.map(\.value))
        #expect(!parsed.entries.contains { $0.key.hasPrefix("commandLine") })
        #expect(parsed.entries.contains { $0.key == "budgetBytes" })
    }
}
