import Foundation

/// A fresh directory under the system's temporary folder, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-data-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Creates `relativePath` (and its folders) holding `contents`; returns the full path.
    @discardableResult
    func write(_ relativePath: String, _ contents: [UInt8] = [0xFF, 0xD8, 0xFF]) throws -> String {
        let full = (path as NSString).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: full))
        return full
    }

    func makeDirectory(_ relativePath: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).appendingPathComponent(relativePath),
                                                withIntermediateDirectories: true)
    }

    /// A symbolic link at `relativePath` pointing to `destination` (relative links resolve from the link's folder).
    func link(_ relativePath: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: (path as NSString).appendingPathComponent(relativePath),
                                                   withDestinationPath: destination)
    }
}
