import ArgumentParser
import Headroom

/// `train` and `plan`'s options, group "Recipe": torchvision's reference recipe's knobs, named
/// as its train.py names them (`--mixup-alpha 0.2 --cutmix-alpha 1.0 --model-ema
/// --val-resize-size 232 --norm-weight-decay 0`).
struct RecipeOptions: ParsableArguments {
    @Option(help: "ta_wide (TrivialAugmentWide, torchvision's recipe), ra (RandAugment), imagenet, cifar10 or svhn (AutoAugment), or augmix, after the crop and flip.")
    var autoAugment: String?

    @Option(help: "RandAugment's magnitude bin, 0–30 (default 9).")
    var raMagnitude: Int?

    @Option(help: "AugMix's severity, 1–10 (default 3).")
    var augmixSeverity: Int?

    @Option(help: "MixUp's Beta(α, α) (torchvision's recipe: 0.2); each sample's partner is drawn from its own random stream.")
    var mixupAlpha: Double?

    @Option(help: "CutMix's Beta(α, α) (torchvision's recipe: 1.0); with --mixup-alpha each sample picks one at even odds.")
    var cutmixAlpha: Double?

    @Option(help: "The probability of erasing a random rectangle of a training sample (torchvision's RandomErasing; its recipe: 0.1).")
    var randomErase: Double?

    @Flag(help: "Keep an exponential moving average of the weights; it is validated every epoch and saved as ema.safetensors in each checkpoint.")
    var modelEma = false

    @Option(help: "The EMA's decay per update, before torchvision's adjustment for batch, --model-ema-steps and epochs (default 0.99998).")
    var modelEmaDecay: Double?

    @Option(help: "Optimiser steps between EMA updates (default 32).")
    var modelEmaSteps: Int?

    @Option(help: "Weight decay of the BatchNorm weights and biases (torchvision's recipe: 0); default: --weight-decay.")
    var normWeightDecay: Double?

    @Option(help: "The shorter side validation images are resized to before the centre crop (torchvision's recipe: 232 for 224); default: crop / 0.875.")
    var valResizeSize: Int?

    /// These options into `config`.
    func apply(to config: inout TrainingConfiguration) {
        config.autoAugment = autoAugment
        config.randAugmentMagnitude = raMagnitude
        config.augMixSeverity = augmixSeverity
        config.mixupAlpha = mixupAlpha
        config.cutmixAlpha = cutmixAlpha
        config.randomErase = randomErase
        if modelEma || modelEmaDecay != nil || modelEmaSteps != nil {
            config.modelEMA = EMASettings(decay: modelEmaDecay ?? EMASettings.standardDecay, steps: modelEmaSteps ?? 32)
        }
        config.normWeightDecay = normWeightDecay
        config.validationResizeSize = valResizeSize
    }
}
