import Testing
@testable import Headroom

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
