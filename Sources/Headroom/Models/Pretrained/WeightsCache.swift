public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where pretrained weight files live: PyTorch's own cache (`$TORCH_HOME/hub/checkpoints`,
/// by default `~/.cache/torch/hub/checkpoints`), so a machine that ever ran torchvision
/// downloads nothing, and what Headroom downloads PyTorch finds too.
public struct WeightsCache: Sendable {
    public var directory: URL
    /// Where files are downloaded from: torchvision's address, or `HEADROOM_WEIGHTS_URL`.
    public var baseURL: URL

    public static let torchvisionURL = URL(string: "https://download.pytorch.org/models/")!

    public init(directory: URL, baseURL: URL = Self.torchvisionURL) {
        self.directory = directory
        self.baseURL = baseURL
    }

    /// The cache torch.hub uses in this environment.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> WeightsCache {
        let torchHome = environment["TORCH_HOME"].map { URL(fileURLWithPath: $0) }
            ?? environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0).appendingPathComponent("torch") }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/torch")
        let base = environment["HEADROOM_WEIGHTS_URL"].flatMap { URL(string: $0.hasSuffix("/") ? $0 : $0 + "/") }
        return WeightsCache(directory: torchHome.appendingPathComponent("hub/checkpoints"), baseURL: base ?? torchvisionURL)
    }

    /// The file of `weights`: from the cache, or downloaded into it (checked against the hash
    /// prefix in its name, written under a temporary name and renamed, so the cache never
    /// holds a partial or damaged file). `progress` gets (bytes so far, total if known).
    public func file(
        for weights: PretrainedWeights, progress: @escaping @Sendable (Int, Int?) -> Void = { _, _ in }
    ) throws(PretrainedWeightsError) -> URL {
        let destination = directory.appendingPathComponent(weights.fileName)
        if FileManager.default.fileExists(atPath: destination.path) { return destination }
        let source = baseURL.appendingPathComponent(weights.fileName)
        func failed(_ reason: String) -> PretrainedWeightsError {
            .downloadFailed(file: weights.fileName, url: source.absoluteString, reason: reason, cache: directory.path)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw failed("cannot create the cache: \(error.localizedDescription)")
        }
        let partial = directory.appendingPathComponent(".\(weights.fileName).\(UUID().uuidString).partial")
        defer { try? FileManager.default.removeItem(at: partial) }
        let digest: String
        do {
            digest = try Download(from: source, to: partial, progress: progress).run()
        } catch {
            throw failed("\(error)")
        }
        guard digest.hasPrefix(weights.hashPrefix) else {
            throw .hashMismatch(file: weights.fileName, expectedPrefix: weights.hashPrefix, actual: digest)
        }
        do {
            try FileManager.default.moveItem(at: partial, to: destination)
        } catch where FileManager.default.fileExists(atPath: destination.path) {
            // Another process finished the same download first: its file is as good.
        } catch {
            throw failed("cannot write into the cache: \(error.localizedDescription)")
        }
        return destination
    }
}

/// One download streamed to a file and hashed as it arrives; `run()` waits for the end.
private final class Download: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: the delegate methods run one at a time on the session's serial queue, and
    // `run()` reads the results only after `done` is signalled.
    private let source: URL
    private let handle: FileHandle
    private let progress: @Sendable (Int, Int?) -> Void
    private var hasher = SHA256()
    private var received = 0
    private var expected: Int?
    private var reportedMark = -1
    private var failure: String?
    private let done = DispatchSemaphore(value: 0)

    init(from source: URL, to file: URL, progress: @escaping @Sendable (Int, Int?) -> Void) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: file.path])
        }
        self.source = source
        handle = try FileHandle(forWritingTo: file)
        self.progress = progress
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The SHA-256 of what was received, once all of it was.
    func run() throws -> String {
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        session.dataTask(with: source).resume()
        done.wait()
        session.finishTasksAndInvalidate()
        try handle.synchronize()
        try handle.close()
        if let failure { throw Failure(description: failure) }
        if let expected, received != expected { throw Failure(description: "the connection ended after \(received) of \(expected) bytes") }
        return hasher.hexDigest()
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            failure = "the server answered HTTP \(http.statusCode)"
            completionHandler(.cancel)
            return
        }
        expected = response.expectedContentLength >= 0 ? Int(response.expectedContentLength) : nil
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        do {
            try handle.write(contentsOf: data)
        } catch {
            failure = "cannot write the download: \(error.localizedDescription)"
            dataTask.cancel()
            return
        }
        data.withUnsafeBytes { hasher.update($0) }
        received += data.count
        // Said every 5% (every 8 MiB when the size is unknown) and at the end, not per packet.
        let mark = expected.map { $0 > 0 ? received * 20 / $0 : 20 } ?? received >> 23
        if mark > reportedMark || received == expected {
            reportedMark = mark
            progress(received, expected)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let error, failure == nil { failure = error.localizedDescription }
        done.signal()
    }
}
