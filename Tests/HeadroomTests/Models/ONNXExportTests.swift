import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomFormats
@testable import HeadroomModels
@testable import HeadroomInference

/// `headroom export --to model.onnx`: the file, read back by the tests' own protobuf decoder
/// and run by the ONNX operators' definitions (ONNXReference), computes torchvision's logits.
@Suite struct ONNXExportTests {
    let reference: ResNetReference

    init() throws { reference = try ResNetReference.load() }

    /// The protobuf encoding guide's own examples: 150 as field 1, a nested message,
    /// and the packed repeated field [3, 270, 86942].
    @Test func protobufWriterEncodesTheSpecsExamples() {
        var varint = ProtobufWriter()
        varint.append(field: 1, int64: 150)
        #expect(varint.bytes == [0x08, 0x96, 0x01])
        var nested = ProtobufWriter()
        nested.append(field: 3) { $0.append(field: 1, int64: 150) }
        #expect(nested.bytes == [0x1A, 0x03, 0x08, 0x96, 0x01])
        var packed = ProtobufWriter()
        packed.append(field: 4, packedInt64s: [3, 270, 86942])
        #expect(packed.bytes == [0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05])
    }

    /// Exports torchvision-initialised weights through `ClassifierWeights.export`, as the CLI does.
    func exported(_ architecture: ResNet.Architecture, in directory: TemporaryDirectory) throws -> (ONNXReference, ResNet) {
        let model = try ResNetReference.model(architecture, type: .float32)
        let weights = directory.url.appendingPathComponent("weights.safetensors")
        var metadata = ModelFile.classNamesMetadata((0..<10).map { "class \($0)" })
        metadata[ModelFile.MetadataKey.architecture] = architecture.rawValue
        metadata[ModelFile.MetadataKey.imageSize] = "48"
        try ModelFile.write(model.stateDict(), metadata: metadata, to: weights)
        let destination = directory.url.appendingPathComponent("model.onnx")
        try ClassifierWeights(contentsOf: weights).export(to: destination)
        model.eval()
        return (try ONNXReference(contentsOf: destination), model)
    }

    @Test(arguments: [(ResNet.Architecture.resnet18, 18), (.resnet50, 50)])
    func theExportedGraphComputesTorchvisionsLogits(_ architecture: ResNet.Architecture, depth: Int) throws {
        let directory = try TemporaryDirectory()
        let (onnx, model) = try exported(architecture, in: directory)
        let expected = try #require(reference.architectures[architecture.rawValue]?.eval_logits)
        let input = try reference.input(.float32)
        let values = try onnx.run(input)
        // torchvision's float64 logits, within what float32 kernels may differ by (as the network's own test).
        expectClose(try #require(values["logits"]), expected, shape: [2, 10], within: .acrossKernels(.float32, terms: 4608, depth: depth))
        let probabilities = try withoutGradient { try model(input).softmax(dim: 1) }
        expectClose(try #require(values["probabilities"]), probabilities, within: .acrossKernels(.float32, terms: 4608, depth: depth))
        // The batch is dynamic: one image alone gives its row.
        let single = try onnx.run(input.slice(dim: 0, 1..<2))
        expectClose(try #require(single["logits"]), try #require(values["logits"]).slice(dim: 0, 1..<2), within: .acrossSummationOrders(.float32, terms: 4608, depth: depth))
    }

    @Test func theFileDeclaresItsOpsetShapesWeightsAndMetadata() throws {
        let directory = try TemporaryDirectory()
        let (onnx, model) = try exported(.resnet18, in: directory)
        #expect(onnx.irVersion == 8 && onnx.opsets == ["": 17])
        #expect(onnx.producer == "headroom")
        #expect(onnx.inputs.map(\.name) == ["input"] && onnx.inputs.first?.dimensions == ["batch", "3", "height", "width"])
        #expect(onnx.outputs.map(\.name) == ["logits", "probabilities"])
        #expect(onnx.outputs.allSatisfy { $0.dimensions == ["batch", "10"] && $0.elementType == 1 })
        // Every weight under torchvision's name (num_batches_tracked has no role in inference), each used.
        let stateNames = Set(model.stateDict().map(\.name).filter { !$0.hasSuffix("num_batches_tracked") })
        #expect(Set(onnx.initializers.keys) == stateNames)
        #expect(Set(onnx.nodes.flatMap(\.inputs)).isSuperset(of: stateNames))
        #expect(onnx.metadata[ModelFile.MetadataKey.architecture] == "resnet18")
        #expect(onnx.metadata[ModelFile.MetadataKey.imageSize] == "48")
        #expect(ModelFile.classNames(in: onnx.metadata) == (0..<10).map { "class \($0)" })
        #expect(onnx.metadata[ModelFile.MetadataKey.normalization]?.contains("0.485") == true)
    }

    @Test func formatsAreToldByExtensionAndOthersAreRefused() throws {
        #expect(ExportFormat(destination: URL(fileURLWithPath: "a/model.ONNX")) == .onnx)
        #expect(ExportFormat(destination: URL(fileURLWithPath: "model.safetensors")) == .safetensors)
        let directory = try TemporaryDirectory()
        let model = try ResNet(.resnet18, classCount: 2)
        let weights = directory.url.appendingPathComponent("weights.safetensors")
        try ModelFile.write(model.stateDict(), metadata: ModelFile.classNamesMetadata(["a", "b"]), to: weights)
        let destination = directory.url.appendingPathComponent("model.pt")
        #expect(throws: ClassifierError.unsupportedExportFormat(path: destination.path)) {
            try ClassifierWeights(contentsOf: weights).export(to: destination)
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
    }
}
