import Foundation
import Testing
import TestSupport

@testable import HeadroomModels

/// SHA-256 against FIPS 180-2's examples: the check a download's name promises.
@Suite struct SHA256Tests {
    func digest(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.hexDigest()
    }

    @Test func knownDigests() {
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(digest(String(repeating: "a", count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Fed in pieces of every size around a block, as packets arrive: the same digest.
    @Test func piecesGiveTheSameDigest() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var whole = SHA256()
        whole.update(bytes)
        for size in [1, 3, 63, 64, 65, 127, 500] {
            var pieces = SHA256()
            for start in stride(from: 0, to: bytes.count, by: size) { pieces.update(Array(bytes[start..<min(start + size, bytes.count)])) }
            #expect(pieces.hexDigest() == whole.hexDigest(), "pieces of \(size)")
        }
    }
}

@Suite struct PretrainedWeightsTests {
    let scratch = try! TemporaryDirectory("headroom-weights")
    /// Stands for a weights file: any bytes do, the cache checks names and hashes.
    let contents = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })

    /// A catalog entry whose name carries `contents`' real hash prefix (or a wrong one).
    func weights(hashPrefixOf data: Data? = nil) -> PretrainedWeights {
        var hasher = SHA256()
        (data ?? contents).withUnsafeBytes { hasher.update($0) }
        return PretrainedWeights(
            architecture: .resnet18, tag: "IMAGENET1K_V1", fileName: "resnet18-\(hasher.hexDigest().prefix(8)).pth", imageNetTop1: 0)
    }

    func cache(_ server: LocalHTTPServer) -> WeightsCache {
        WeightsCache(directory: scratch.url.appendingPathComponent("hub/checkpoints"), baseURL: URL(string: server.baseURL)!)
    }

    func cacheFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: scratch.url.appendingPathComponent("hub/checkpoints").path)) ?? []
    }

    @Test func namesMeanTorchvisionsWeights() throws {
        #expect(try PretrainedWeights.named("imagenet", for: .resnet18)?.fileName == "resnet18-f37072fd.pth")
        #expect(try PretrainedWeights.named("DEFAULT", for: .resnet50)?.fileName == "resnet50-11ad3fa6.pth")  // V2, the best
        #expect(try PretrainedWeights.named("IMAGENET1K_V1", for: .resnet50)?.fileName == "resnet50-0676ba61.pth")
        #expect(try PretrainedWeights.named("imagenet", for: .resnet34)?.hashPrefix == "b627a593")
        #expect(try PretrainedWeights.named("runs/a/model.safetensors", for: .resnet18) == nil)  // a path
        #expect(throws: PretrainedWeightsError.self) { try PretrainedWeights.named("IMAGENET1K_V2", for: .resnet18) }
    }

    /// The catalog is torchvision's weight enums, entry for entry (Scripts/make-reference-data.py
    /// reads them from torchvision 0.26), and each enum's spelling picks its own entries.
    @Test func theCatalogIsTorchvisions() throws {
        let reference = try ResNetReference.load()
        let expected: [[ResNetReference.WeightsField]] = PretrainedWeights.catalog.map {
            [.text($0.architecture.rawValue), .text(PretrainedWeights.enumName(of: $0.architecture)), .text($0.tag), .text($0.fileName),
             .number($0.imageNetTop1)]
        }
        #expect(expected == reference.weights)
        #expect(try PretrainedWeights.named("ResNet50_Weights.IMAGENET1K_V2", for: .resnet50)?.fileName == "resnet50-11ad3fa6.pth")
        #expect(try PretrainedWeights.named("ResNeXt101_64X4D_Weights.DEFAULT", for: .resnext101_64x4d)?.tag == "IMAGENET1K_V1")
        let other = #expect(throws: PretrainedWeightsError.self) { try PretrainedWeights.named("ResNet18_Weights.IMAGENET1K_V1", for: .resnet50) }
        #expect(other?.description.contains("ResNet50_Weights") == true)
    }

    @Test func theStandardCacheIsTorchHubs() {
        #expect(WeightsCache.standard(environment: ["TORCH_HOME": "/t"]).directory.path == "/t/hub/checkpoints")
        #expect(WeightsCache.standard(environment: ["XDG_CACHE_HOME": "/x"]).directory.path == "/x/torch/hub/checkpoints")
        #expect(WeightsCache.standard(environment: [:]).directory.path.hasSuffix("/.cache/torch/hub/checkpoints"))
        #expect(WeightsCache.standard(environment: [:]).baseURL == WeightsCache.torchvisionURL)
        #expect(WeightsCache.standard(environment: ["HEADROOM_WEIGHTS_URL": "http://127.0.0.1:9/m"]).baseURL.absoluteString == "http://127.0.0.1:9/m/")
    }

    @Test func aDownloadIsCheckedAndCachedAndThenHit() throws {
        let weights = weights()
        let server = LocalHTTPServer(files: [weights.fileName: contents])
        defer { server.stop() }
        let progress = Progress()
        let file = try cache(server).file(for: weights) { bytes, total in progress.add(bytes, total) }
        #expect(try Data(contentsOf: file) == contents)
        #expect(file.lastPathComponent == weights.fileName)
        #expect(cacheFiles() == [weights.fileName])  // no partial file left beside it
        #expect(progress.last?.0 == contents.count && progress.last?.1 == contents.count)
        // A second call finds it in the cache: no request.
        #expect(try cache(server).file(for: weights) == file)
        #expect(server.requests == 1)
    }

    /// Mirrors answer with a redirect (#35): it is followed, and the file it leads to checked.
    @Test func aRedirectIsFollowed() throws {
        let weights = weights()
        let server = LocalHTTPServer(files: ["moved-" + weights.fileName: contents], redirects: [weights.fileName: "moved-" + weights.fileName])
        defer { server.stop() }
        let file = try cache(server).file(for: weights)
        #expect(try Data(contentsOf: file) == contents)
        #expect(file.lastPathComponent == weights.fileName)
        #expect(server.requests == 2)
    }

    @Test func aWrongHashIsRefusedAndNothingIsKept() throws {
        let promised = weights(hashPrefixOf: Data("something else".utf8))
        let server = LocalHTTPServer(files: [promised.fileName: contents])
        defer { server.stop() }
        #expect {
            try cache(server).file(for: promised)
        } throws: { error in
            guard case .hashMismatch(let file, _, _)? = error as? PretrainedWeightsError else { return false }
            return file == promised.fileName
        }
        #expect(cacheFiles().isEmpty)
    }

    @Test func anInterruptedDownloadLeavesNothing() throws {
        let weights = weights()
        let server = LocalHTTPServer(files: [weights.fileName: contents], cutAfter: 100_000)
        defer { server.stop() }
        #expect {
            try cache(server).file(for: weights)
        } throws: { error in
            guard case .downloadFailed? = error as? PretrainedWeightsError else { return false }
            return true
        }
        #expect(cacheFiles().isEmpty)
    }

    /// A cache that cannot be written (here TORCH_HOME is a file, not a folder; a read-only
    /// mount reads the same) is said as such before any request: it used to be reported as a
    /// failed download whose advice was to copy the file into that very folder.
    @Test func aCacheThatCannotBeWrittenIsSaidAsSuch() throws {
        let notAFolder = scratch.url.appendingPathComponent("torch-home-file")
        try Data("x".utf8).write(to: notAFolder)
        let weights = weights()
        let server = LocalHTTPServer(files: [weights.fileName: contents])
        defer { server.stop() }
        let cache = WeightsCache(directory: notAFolder.appendingPathComponent("hub/checkpoints"), baseURL: URL(string: server.baseURL)!)
        #expect {
            try cache.file(for: weights)
        } throws: { error in
            guard case .cacheNotWritable? = error as? PretrainedWeightsError else { return false }
            return "\(error)".contains("TORCH_HOME") && !"\(error)".contains("copy")
        }
        #expect(server.requests == 0)
    }

    /// No network: the error names the file and where to put it.
    @Test func noNetworkSaysWhichFileToPlaceWhere() throws {
        let unreachable = WeightsCache(
            directory: scratch.url.appendingPathComponent("hub/checkpoints"), baseURL: URL(string: "http://127.0.0.1:\(freeTCPPort())/models/")!)
        let weights = weights()
        do {
            _ = try unreachable.file(for: weights)
            Issue.record("downloaded from a closed port")
        } catch {
            #expect("\(error)".contains(weights.fileName))
            #expect("\(error)".contains(unreachable.directory.path))
        }
        #expect(cacheFiles().isEmpty)
    }
}

/// The progress calls a download made, for checking.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [(Int, Int?)] = []
    func add(_ bytes: Int, _ total: Int?) {
        lock.lock()
        calls.append((bytes, total))
        lock.unlock()
    }
    var last: (Int, Int?)? {
        lock.lock()
        defer { lock.unlock() }
        return calls.last
    }
}
