public import Torch
public import TorchNN

/// What loading pretrained weights did.
public struct PretrainedLoad: Sendable, CustomStringConvertible {
    public var report: StateDictLoadReport
    /// Set when the checkpoint's classifier had another number of classes and was left
    /// out: the model keeps a freshly initialised `fc` for its own classes.
    public var classifierReset: (checkpointClasses: Int, modelClasses: Int)?
    /// Set when the checkpoint's first convolution took other bands than the model's and was
    /// adapted as timm's `adapt_input_conv` does.
    public var inputAdapted: (checkpointBands: Int, modelBands: Int)?

    public var description: String {
        var text = "loaded \(report.loadedCount) tensors"
        if let adapted = inputAdapted {
            let how = adapted.modelBands == 1 ? "summed over its \(adapted.checkpointBands) input bands"
                : "repeated over \(adapted.modelBands) bands and scaled by \(adapted.checkpointBands)/\(adapted.modelBands)"
            text += "; conv1 took \(adapted.checkpointBands) bands, the model \(adapted.modelBands): its weights were \(how) (timm's adapt_input_conv)"
        }
        if let reset = classifierReset {
            text += "; the checkpoint's classifier has \(reset.checkpointClasses) classes, the model \(reset.modelClasses): fc was re-initialised and will be trained from scratch"
        }
        return text
    }
}

extension ResNet {
    /// Loads weights (e.g. torchvision's ImageNet checkpoint) for fine-tuning. Every tensor
    /// must fit except the classifier: a checkpoint with another number of classes loads
    /// everything but `fc.weight`/`fc.bias`, and `fc` is re-initialised; a first convolution
    /// for other bands (RGB weights, a 13-band model) is adapted as timm's `adapt_input_conv` does.
    public func loadPretrained(_ stateDict: [String: Tensor], generator: Generator? = nil) throws -> PretrainedLoad {
        var weights = stateDict
        var reset: (Int, Int)?
        var adapted: (Int, Int)?
        if let checkpointConv = stateDict["conv1.weight"], checkpointConv.rank == 4, checkpointConv.shape[1] != inputBands,
            checkpointConv.shape[0] == conv1.weight.shape[0]
        {
            weights["conv1.weight"] = try Self.adaptInputConvolution(checkpointConv, to: inputBands)
            adapted = (checkpointConv.shape[1], inputBands)
        }
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
        return PretrainedLoad(report: loaded, classifierReset: reset, inputAdapted: adapted)
    }

    /// timm's `adapt_input_conv`: one band takes the sum of the weights over the checkpoint's
    /// bands (a grey image then gives what three copies of it gave); more bands repeat the
    /// checkpoint's cyclically and scale them by its bands over the model's, so that an input
    /// whose bands all equal one grey image still gives the same activations. In float32, as timm.
    static func adaptInputConvolution(_ weight: Tensor, to bands: Int) throws(TorchError) -> Tensor {
        let type = weight.dtype
        let float = try weight.to(dtype: .float32)
        let given = weight.shape[1]
        if bands == 1 { return try float.sum(dims: [1], keepDims: true).to(dtype: type) }
        let copies = (bands + given - 1) / given
        let repeated = try Tensor.cat(Array(repeating: float, count: copies), dim: 1).slice(dim: 1, 0..<bands)
        return try (repeated * (Double(given) / Double(bands))).to(dtype: type)
    }
}
