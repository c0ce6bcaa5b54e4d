public import Foundation
public import HeadroomData
public import HeadroomExecution
public import HeadroomModels
public import Torch

/// A trained network ready to classify: its weights on a device, in evaluation mode, with
/// the names of its classes.
public final class Classifier {
    public let classNames: [String]
    public let architecture: ResNet.Architecture
    public let device: Device
    /// The validation resolution of the run that trained it, when known (see `ClassifierWeights`).
    public let trainedImageSize: Int?
    /// What validation resized to before cropping `trainedImageSize`, when the run chose it.
    public let trainedResizeSize: Int?
    /// How images are read and normalised for this network, as it was trained.
    public let input: ModelInput
    /// Training's input preparation and forward pass (normalisation, autocast), so that
    /// inference sees exactly what validation saw; no optimiser: nothing here changes a weight.
    public let pass: ForwardPass

    public var model: ResNet { pass.model }

    /// Loads `weights` onto `device`, in fp32 unless `precision` says otherwise: inference is
    /// exact by default, so a run directory, its export and its ONNX file give the same
    /// probabilities on any CPU, whatever precision the run trained in (bf16 rounds them
    /// by about 1e-3, and differently on each CPU's kernels).
    public init(weights: ClassifierWeights, device: Device = .cpu, precision: Precision = .fp32) throws {
        let model = try weights.makeModel()
        try model.move(to: device)
        model.eval()
        pass = try ForwardPass(model: model, device: device, precision: precision, normalisation: weights.input.normalisation)
        input = weights.input
        classNames = weights.classNames
        architecture = weights.architecture
        trainedImageSize = weights.trainedImageSize
        trainedResizeSize = weights.trainedResizeSize
        self.device = device
    }

    /// Validation's transform at `imageSize`: the run's resize before the crop when it chose one
    /// and this is its size, else torchvision's crop / 0.875.
    public func evaluationTransform(at imageSize: Int) -> SampleTransform {
        guard let resize = trainedResizeSize, imageSize == trainedImageSize, resize >= imageSize else { return .standardEvaluation }
        return .evaluation(cropFraction: Double(imageSize) / Double(resize))
    }

    /// Loads a model file, or the best checkpoint of a run directory.
    public convenience init(contentsOf location: URL, device: Device = .cpu, precision: Precision = .fp32) throws {
        try self.init(weights: ClassifierWeights(contentsOf: location), device: device, precision: precision)
    }

    /// `base` reading this network's input format.
    public func decoder(from base: ImageDecoder) -> ImageDecoder {
        var decoder = base
        decoder.input = input.format
        return decoder
    }

    /// Class probabilities (softmax of the logits), [N, classes] float32 on the host, for
    /// NCHW images as the loader gives them (uint8 photos, float32 samples), the start of the network `streaming` in bands if given. No gradients;
    /// one host synchronisation.
    public func probabilities(for images: Tensor, streaming: ResNet.Streaming? = nil) throws(TorchError) -> Tensor {
        try withoutGradient { () throws(TorchError) in
            let logits = try pass.logits(images: images, streaming: streaming).to(dtype: .float32)
            return try logits.softmax(dim: 1).to(device: .cpu)  // host synchronisation
        }
    }
}
