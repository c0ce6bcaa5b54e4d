import CDownload
public import Foundation

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
            throw .cacheNotWritable(file: weights.fileName, cache: directory.path)
        }
        // Checked before the download: a read-only cache is no network failure, and copying
        // the file into it (the download failure's advice) cannot work either.
        guard FileManager.default.isWritableFile(atPath: directory.path) else {
            throw .cacheNotWritable(file: weights.fileName, cache: directory.path)
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

/// One download streamed to a file and hashed as it arrives, through libcurl on the calling
/// thread (see Sources/CDownload for why not URLSession).
private final class Download {
    private let source: URL
    private let handle: FileHandle
    private let progress: @Sendable (Int, Int?) -> Void
    private var hasher = SHA256()
    private var received = 0
    private var announced: Int?
    private var reportedMark = -1
    private var failure: String?

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
        var result = hr_download_result()
        let status = withExtendedLifetime(self) {
            hr_download(source.absoluteString, 30, 60, { context, bytes, count, announced in
                let download = Unmanaged<Download>.fromOpaque(context!).takeUnretainedValue()
                return download.receive(UnsafeRawBufferPointer(start: bytes, count: count), announced: announced) ? 0 : 1
            }, Unmanaged.passUnretained(self).toOpaque(), &result)
        }
        try handle.synchronize()
        try handle.close()
        if let failure { throw Failure(description: failure) }
        if status != 0 {
            throw Failure(description: withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        if let announced, received != announced {
            throw Failure(description: "the connection ended after \(received) of \(announced) bytes")
        }
        return hasher.hexDigest()
    }

    /// Writes and hashes one piece; false stops the transfer.
    private func receive(_ bytes: UnsafeRawBufferPointer, announced: Int64) -> Bool {
        if announced >= 0 { self.announced = Int(announced) }
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            failure = "cannot write the download: \(error.localizedDescription)"
            return false
        }
        hasher.update(bytes)
        received += bytes.count
        // Said every 5% (every 8 MiB when the size is unknown) and at the end, not per packet.
        let mark = self.announced.map { $0 > 0 ? received * 20 / $0 : 20 } ?? received >> 23
        if mark > reportedMark || received == self.announced {
            reportedMark = mark
            progress(received, self.announced)
        }
        return true
    }
}
