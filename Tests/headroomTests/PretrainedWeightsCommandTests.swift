import Foundation
import Testing
import TestSupport
import Torch

@testable import HeadroomModels
@testable import HeadroomData

/// `--weights imagenet` end to end: found in PyTorch's cache under torchvision's file name,
/// and a download that does not match that name's hash refused with nothing trained.
@Suite(.serialized) struct PretrainedWeightsCommandTests {
    let scratch = try! TemporaryDirectory("headroom-pretrained")

    func data() throws -> URL {
        var dataset = SyntheticDataset()
        dataset.classes = ["circles", "squares"]
        dataset.trainPerClass = 4
        dataset.validationPerClass = 1
        _ = try dataset.write(to: scratch.url.appendingPathComponent("data"))
        return scratch.url.appendingPathComponent("data")
    }

    func train(_ data: URL, out: String, environment: [String: String]) throws -> (status: Int32?, output: String) {
        let worker = try Worker(
            ["train", data.path, "--out", scratch.url.appendingPathComponent(out).path, "--weights", "imagenet", "--epochs", "1",
             "--batch-size", "4", "--image-size", "32", "--device", "cpu", "--precision", "fp32"],
            environment: environment)
        let status = worker.wait(timeout: 180)
        return (status, worker.output)
    }

    @Test func imagenetWeightsComeFromTorchHubsCacheOrAreRefused() throws {
        let data = try data()
        // A resnet18 state dict (1000 classes, as torchvision's) where torch.hub keeps it.
        let torchHome = scratch.url.appendingPathComponent("torch")
        let cached = torchHome.appendingPathComponent("hub/checkpoints/resnet18-f37072fd.pth")
        try FileManager.default.createDirectory(at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
        let model = try ResNet(.resnet18, classCount: 1000, generator: Generator(seed: 5))
        try ModelFile.write(model.stateDict(), to: cached)
        let server = LocalHTTPServer(files: [:])
        defer { server.stop() }

        let hit = try train(data, out: "hit", environment: ["TORCH_HOME": torchHome.path, "HEADROOM_WEIGHTS_URL": server.baseURL])
        #expect(hit.status == 0, "\(hit.output)")
        #expect(hit.output.contains("torchvision resnet18 IMAGENET1K_V1"))
        #expect(hit.output.contains(cached.path))
        #expect(hit.output.contains("fc was re-initialised"))  // 1000 classes → 2
        #expect(hit.output.contains("ImageNet's mean"))
        #expect(server.requests == 0)
        // config.json (and so the report) names what `imagenet` resolved to: the tag and the file.
        let record = try String(contentsOf: scratch.url.appendingPathComponent("hit/config.json"), encoding: .utf8)
        #expect(record.contains("imagenet → torchvision resnet18 IMAGENET1K_V1"), "\(record)")
        #expect(record.contains("resnet18-f37072fd.pth"), "\(record)")

        // An empty cache and a server whose file does not hash to f37072fd…: refused.
        let emptyHome = scratch.url.appendingPathComponent("empty-torch")
        let wrong = LocalHTTPServer(files: ["resnet18-f37072fd.pth": Data((0..<4096).map { UInt8(truncatingIfNeeded: $0) })])
        defer { wrong.stop() }
        let refused = try train(data, out: "refused", environment: ["TORCH_HOME": emptyHome.path, "HEADROOM_WEIGHTS_URL": wrong.baseURL])
        // A failed download is no usage error: status 2, and no usage text after the message.
        #expect(refused.status == 2, "\(refused.output)")
        #expect(!refused.output.contains("Usage:"), "\(refused.output)")
        #expect(refused.output.contains("does not start with f37072fd"))
        #expect(wrong.requests == 1)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: emptyHome.appendingPathComponent("hub/checkpoints").path)) ?? []
        #expect(left.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.url.appendingPathComponent("refused/metrics.jsonl").path))
    }
}
