import Foundation
import Testing
import Torch
@testable import HeadroomModels
@testable import HeadroomData
@testable import HeadroomReporting
@testable import HeadroomInference

@Suite struct ClassifierWeightsTests {
    let fixture: InferenceFixture
    init() throws { fixture = try InferenceFixture.shared.get() }

    @Test func aRunDirectoryMeansItsBestCheckpoint() throws {
        let weights = try ClassifierWeights(contentsOf: fixture.runDirectory)
        #expect(weights.url == fixture.modelFile)
        #expect(weights.classNames == SyntheticDataset.classNames)
        #expect(weights.architecture == .resnet18)
        #expect(weights.trainedImageSize == nil, "no state.json beside a bare model file")
    }

    @Test func explainsMissingCheckpointsAndMetadata() throws {
        let empty = try fixture.folder("empty-run")
        #expect(throws: ClassifierError.noBestCheckpoint(runDirectory: empty.path)) { try ClassifierWeights(contentsOf: empty) }
        let missing = empty.appendingPathComponent("nothing.safetensors")
        #expect(throws: ClassifierError.notFound(path: missing.path)) { try ClassifierWeights(contentsOf: missing) }

        let tensors = try ModelFile.read(fixture.modelFile).tensors
        let unnamed = empty.appendingPathComponent("unnamed.safetensors")
        try ModelFile.write(tensors, to: unnamed)
        #expect(throws: ClassifierError.missingClassNames(path: unnamed.path)) { try ClassifierWeights(contentsOf: unnamed) }
    }

    @Test func tellsTheArchitectureFromTheTensorsWhenTheMetadataLacksIt() throws {
        let folder = try fixture.folder("no-architecture")
        let file = folder.appendingPathComponent("model.safetensors")
        try ModelFile.write(
            ModelFile.read(fixture.modelFile).tensors, metadata: ModelFile.classNamesMetadata(SyntheticDataset.classNames), to: file)
        #expect(try ClassifierWeights(contentsOf: file).architecture == .resnet18)
        #expect(ResNet.Architecture.matching(stateDict: ["weight": [1]]) == nil)
    }

    @Test func refusesWeightsOfAnotherShape() throws {
        let folder = try fixture.folder("wrong-classes")
        let file = folder.appendingPathComponent("model.safetensors")
        // Four class names for a three-class head.
        var metadata = ModelFile.classNamesMetadata(["a", "b", "c", "d"])
        metadata[ModelFile.MetadataKey.architecture] = "resnet18"
        try ModelFile.write(ModelFile.read(fixture.modelFile).tensors, metadata: metadata, to: file)
        #expect {
            try ClassifierWeights(contentsOf: file).makeModel()
        } throws: { error in
            guard case .weightsDoNotFit(_, "resnet18", let reason)? = error as? ClassifierError else { return false }
            return reason.contains("fc.weight")
        }
    }

    @Test func exportRoundTripsBitForBit() throws {
        let destination = try fixture.folder("export").appendingPathComponent("model.safetensors")
        try ClassifierWeights(contentsOf: fixture.runDirectory).export(to: destination)
        let original = try ModelFile.read(fixture.modelFile)
        let exported = try ModelFile.read(destination)
        #expect(exported.tensors.map(\.name) == original.tensors.map(\.name))
        for (a, b) in zip(original.tensors, exported.tensors) {
            #expect(a.tensor.dtype == b.tensor.dtype && a.tensor.shape == b.tensor.shape)
            #expect(try a.tensor.bytes() == b.tensor.bytes(), "\(a.name) changed")
        }
        #expect(ModelFile.classNames(in: exported.metadata) == SyntheticDataset.classNames)
        #expect(exported.metadata[ModelFile.MetadataKey.architecture] == "resnet18")
        #expect(exported.metadata[ModelFile.MetadataKey.normalization] == #"{"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}"#)
    }

    /// The image size a model was validated at travels with its export, so that predict on
    /// the exported file sees what it saw from the run (it used 224 px for a 64 px model).
    @Test func theImageSizeTravelsWithTheExport() throws {
        let folder = try fixture.folder("sized")
        let sized = folder.appendingPathComponent("sized.safetensors")
        var metadata = ModelFile.classNamesMetadata(SyntheticDataset.classNames)
        metadata[ModelFile.MetadataKey.imageSize] = "96"
        try ModelFile.write(ModelFile.read(fixture.modelFile).tensors, metadata: metadata, to: sized)
        let weights = try ClassifierWeights(contentsOf: sized)
        #expect(weights.trainedImageSize == 96)
        let exported = folder.appendingPathComponent("exported.safetensors")
        try weights.export(to: exported)
        #expect(try ClassifierWeights(contentsOf: exported).trainedImageSize == 96)
        #expect(try ModelFile.read(exported).metadata[ModelFile.MetadataKey.imageSize] == "96")
    }
}

/// Inference is exact by default and the same from every source, whatever the run trained in.
@Suite struct DefaultInferencePrecisionTests {
    let fixture: InferenceFixture
    init() throws { fixture = try InferenceFixture.shared.get() }

    func values(_ probabilities: Tensor) throws -> [Double] { try probabilities.to(dtype: .float64).array() }

    /// A run that trained in bf16 (its config.json says so), and its export: both record the
    /// precision as information, and both classify in fp32 by default with identical results.
    @Test func aRunAndItsExportGiveTheSameProbabilities() throws {
        let run = try fixture.folder("bf16-run")
        let checkpoints = RunDirectory(run).checkpoints
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixture.modelFile, to: checkpoints.appendingPathComponent("best.safetensors"))
        try Data(#"{"precision": "bf16"}"#.utf8).write(to: RunDirectory(run).configuration)
        let weights = try ClassifierWeights(contentsOf: run)
        #expect(weights.trainedPrecision == .bf16)
        let exported = run.appendingPathComponent("model.safetensors")
        try weights.export(to: exported)
        #expect(try ModelFile.read(exported).metadata[ModelFile.MetadataKey.trainedPrecision] == "bf16")
        #expect(try ClassifierWeights(contentsOf: exported).trainedPrecision == .bf16)

        let images = try (Tensor.rand([4, 3, 48, 48], generator: Generator(seed: 3)) * 255).to(dtype: .uint8)
        let fromRun = try Classifier(contentsOf: run)
        let fromExport = try Classifier(contentsOf: exported)
        #expect(fromRun.pass.precision == .fp32 && fromExport.pass.precision == .fp32)
        #expect(try values(fromRun.probabilities(for: images)) == values(fromExport.probabilities(for: images)))
    }

    /// The default answer is the float64 definition (torchvision's, checked in ResNetTests) to
    /// float32 rounding, on any CPU: a bf16 default would miss it by about 1e-3.
    @Test func theDefaultIsTheFloat64DefinitionToFloat32Rounding() throws {
        let images = try (Tensor.rand([4, 3, 48, 48], generator: Generator(seed: 4)) * 255).to(dtype: .uint8)
        let exact = try values(Classifier(contentsOf: fixture.modelFile, precision: .fp64).probabilities(for: images))
        let byDefault = try values(Classifier(contentsOf: fixture.modelFile).probabilities(for: images))
        let worst = zip(exact, byDefault).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "largest probability difference \(worst)")
    }
}
