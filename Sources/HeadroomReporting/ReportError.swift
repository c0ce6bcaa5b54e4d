import Foundation

/// Why a run directory could not be read or its report written.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    /// A file exists but could not be read or written.
    case io(path: String, reason: String)
    /// A file was read but its contents are not what the trainer writes.
    case malformed(path: String, reason: String)
    /// A confusion matrix that is not square, or disagrees with its class names.
    case invalidConfusionMatrix(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is not a valid Headroom run file: \(reason)"
        case .invalidConfusionMatrix(let reason): "invalid confusion matrix: \(reason)"
        }
    }
}

extension ReportError {
    /// The file's bytes, or nil when the run has not written it yet.
    static func contentsIfPresent(_ url: URL) throws(ReportError) -> Data? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw .io(path: url.path, reason: error.localizedDescription)
        }
    }
}
