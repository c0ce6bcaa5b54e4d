import Foundation
import TestSupport
import Torch
@testable import HeadroomModels
@testable import HeadroomData
@testable import HeadroomReporting

/// A small generated image set and a ResNet-18 model file for its three classes, written
/// once for all inference tests (the model file is ~45 MB).
struct InferenceFixture: Sendable {
    static let resolution = 48
    static let shared = Result { try InferenceFixture() }

    let root: URL
    let train: URL
    let validation: URL
    /// A run directory holding `checkpoints/best.safetensors`, as the trainer leaves it.
    let runDirectory: URL
    var modelFile: URL { runDirectory.appendingPathComponent("checkpoints/best.safetensors") }

    private init() throws {
        root = Self.directory()
        // The files (a 45 MB model among them) go when the test process ends.
        atexit { try? FileManager.default.removeItem(at: InferenceFixture.directory()) }
        var dataset = SyntheticDataset()
        dataset.trainPerClass = 4
        dataset.validationPerClass = 2
        dataset.width = 64
        dataset.height = 48
        (train, validation) = try dataset.write(to: root.appendingPathComponent("data"))
        runDirectory = root.appendingPathComponent("run")
        let checkpoints = RunDirectory(runDirectory).checkpoints
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let model = try ResNet(.resnet18, classCount: SyntheticDataset.classNames.count, generator: Generator(seed: 7))
        var metadata = ModelFile.classNamesMetadata(SyntheticDataset.classNames)
        metadata[ModelFile.MetadataKey.architecture] = "resnet18"
        try ModelFile.write(model.stateDict(), metadata: metadata, to: checkpoints.appendingPathComponent("best.safetensors"))
    }

    /// The fixture's root: one per test process.
    private static func directory() -> URL {
        TemporaryDirectory.forThisProcess("headroom-inference")
    }

    /// A fresh folder under the fixture's root.
    func folder(_ name: String) throws -> URL {
        let url = root.appendingPathComponent("\(name)-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
