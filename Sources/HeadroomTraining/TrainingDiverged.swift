public import Foundation
public import HeadroomExecution

/// The loss stopped being a number. The weights after that step are not usable, so the run
/// stops there and writes nothing over the checkpoints it already has.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public var epoch: Int
    /// The global step whose loss was not finite, one-based.
    public var step: Int
    public var loss: Double
    public var learningRate: Double
    public var precision: Precision
    public var gradientClipNorm: Double?
    /// The step of the newest checkpoint on disk, nil when none was written yet.
    public var lastCheckpointStep: Int?
    public var runDirectory: URL
    /// Whose loss: a step's, or validation's after an epoch (weights or BatchNorm's running
    /// statistics no longer finite, while the training loss still was).
    public var phase: Phase = .training

    public enum Phase: Sendable { case training, validation }

    public var description: String {
        let value = loss.isNaN ? "NaN" : loss > 0 ? "infinite" : "−infinite"
        let when = phase == .training ? "the training loss became \(value) at step \(step)" : "the validation loss became \(value) after step \(step)"
        var text = "\(when) (epoch \(epoch + 1)): the run has diverged, and its weights "
            + "are no longer usable, so it stopped without saving them. "
        if let saved = lastCheckpointStep {
            text += "The last good checkpoint (step \(saved)) is kept in \(runDirectory.appendingPathComponent("checkpoints").path). "
        } else {
            text += "No checkpoint had been written yet. "
        }
        var remedies: [String] = []
        if phase == .validation {
            // The training loss was finite: validation's BatchNorm reads running statistics,
            // which after few steps can be far from a deep network's activations (PyTorch's
            // resnet152 gives logits of 30,000 in eval after one step).
            text += "Validation runs BatchNorm on its running statistics; after few steps they can be far from a deep "
                + "network's activations, and its outputs overflow. "
            remedies += ["more training steps before the first validation (more data or epochs)", "--weights imagenet"]
        }
        remedies.append("a lower --lr (this step used \(String(format: "%.3g", learningRate)))")
        if gradientClipNorm == nil { remedies.append("--grad-clip 1.0") }
        remedies.append("--warmup-epochs 1 or more")
        if precision == .fp16 || precision == .bf16 { remedies.append("--precision fp32 (this run: \(precision.rawValue))") }
        return text + "What would help: " + remedies.joined(separator: ", ") + "; then train again."
    }
}
