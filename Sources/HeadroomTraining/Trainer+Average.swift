import HeadroomExecution

/// `--model-ema`: the moving average of the weights.
extension Trainer {
    /// The average of `step`'s network and the pass that validates it, when the run keeps one.
    static func average(_ configuration: TrainingConfiguration, step: TrainingStep) throws -> (ModelAverage?, ForwardPass?) {
        guard let settings = configuration.modelEMA else { return (nil, nil) }
        let average = try ModelAverage(
            of: step.model, settings: settings, batchSize: configuration.batchSize, epochs: configuration.epochs,
            memoryFormat: step.memoryFormat)
        let pass = try ForwardPass(
            model: average.model, device: step.device, precision: step.precision, memoryFormat: step.memoryFormat,
            normalisation: step.pass.inputNormalisation)
        return (average, pass)
    }

    /// After an optimiser step: the average's update when its schedule picks this step, a copy
    /// of the weights during warm-up (torchvision resets its count there).
    func updateAverage() throws {
        guard let average, average.isDue(atStepInEpoch: stepInEpoch) else { return }
        try average.update(from: step.model)
        if Double(epoch) < configuration.warmupEpochs { average.restart() }
    }
}
