public import Torch
public import TorchNN

/// What loading pretrained weights did.
public struct PretrainedLoad: Sendable, CustomStringConvertible {
    public var report: StateDictLoadReport
    /// Set when the checkpoint's classifier had another number of classes and was left
    /// out: the model keeps a freshly initialised `fc` for its own classes.
    public var classifierReset: (checkpointClasses: Int, modelClasses: Int)?

    public var description: String {
        var text = "loaded \(report.loadedCount) tensors"
        if let reset = classifierReset {
            text += "; the checkpoint's classifier has \(reset.checkpointClasses) classes, the model \(reset.modelClasses): fc was re-initialised and will be trained from scratch"
        }
        return text
    }
}

extension ResNet {
    /// Loads weights (e.g. torchvision's ImageNet checkpoint) for fine-tuning. Every tensor
    /// must fit except the classifier: a checkpoint with another number of classes loads
    /// everything but `fc.weight`/`fc.bias`, and `fc` is re-initialised.
    public func loadPretrained(_ stateDict: [String: Tensor], generator: Generator? = nil) throws -> PretrainedLoad {
        var weights = stateDict
        var reset: (Int, Int)?
        if let checkpointFC = stateDict["fc.weight"], checkpointFC.shape != fc.weight.shape,
            checkpointFC.rank == 2, checkpointFC.shape[1] == fc.weight.shape[1]
        {
            weights["fc.weight"] = nil
            weights["fc.bias"] = nil
            reset = (checkpointFC.shape[0], classCount)
        }
        let report = match(weights)
        let onlyClassifierMissing = report.missingKeys.allSatisfy { reset != nil && $0.hasPrefix("fc.") }
        guard report.unexpectedKeys.isEmpty, report.shapeMismatches.isEmpty, onlyClassifierMissing else {
            throw StateDictMismatch(report: report)
        }
        let loaded = try load(weights, strict: false)
        if reset != nil { try fc.resetParameters(generator: generator) }
        return PretrainedLoad(report: loaded, classifierReset: reset)
    }
}
