public import Foundation

/// A fresh directory under the system's temporary folder, removed with everything in it when
/// the value is released. A suite holds one as a stored property: Swift Testing makes a suite
/// value per test, so each test's files go when the test ends (runs of the whole suite used
/// to leave gigabytes of checkpoints behind).
public final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: immutable after init; the folder's contents are the tests' business.
    public let path: String
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    public init(_ prefix: String = "headroom-tests") throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Creates `relativePath` (and its folders) holding `contents`; returns the full path.
    @discardableResult
    public func write(_ relativePath: String, _ contents: [UInt8] = [0xFF, 0xD8, 0xFF]) throws -> String {
        let full = (path as NSString).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: full))
        return full
    }

    public func makeDirectory(_ relativePath: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).appendingPathComponent(relativePath),
                                                withIntermediateDirectories: true)
    }

    /// A symbolic link at `relativePath` pointing to `destination` (relative links resolve from the link's folder).
    public func link(_ relativePath: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: (path as NSString).appendingPathComponent(relativePath),
                                                   withDestinationPath: destination)
    }
}

extension TemporaryDirectory {
    /// A directory shared by every test of this process (fixtures built once), removed when the
    /// process exits.
    public static func forThisProcess(_ prefix: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(getpid())")
        ProcessDirectories.shared.removeAtExit(url.path)
        return url
    }
}

/// The per-process directories, removed by one exit handler.
private final class ProcessDirectories: @unchecked Sendable {
    // @unchecked: `paths` is guarded by `lock`.
    static let shared = ProcessDirectories()
    private let lock = NSLock()
    private var paths: Set<String> = []

    private init() {
        atexit { ProcessDirectories.shared.removeAll() }
    }

    func removeAtExit(_ path: String) {
        lock.withLock { _ = paths.insert(path) }
    }

    private func removeAll() {
        for path in lock.withLock({ paths }) { try? FileManager.default.removeItem(atPath: path) }
    }
}
