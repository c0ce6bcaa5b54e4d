package import Foundation

/// Why a state-dict file could not be read or written.
///
/// Every case names the file (or `key` for a record that is wrong before any
/// file is involved) and says what was wrong in words a user can act on.
public enum StateDictError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened, read or written.
    case io(path: String, reason: String)
    /// The file breaks the rules of its format: truncated, corrupted, or not
    /// the format it claims to be.
    case malformed(path: String, reason: String)
    /// The file is valid but uses something this reader does not implement.
    case unsupported(path: String, reason: String)
    /// A pickle names a global outside the allow-list; nothing was executed.
    case refusedGlobal(path: String, name: String)
    /// A record is inconsistent (its bytes do not fit its shape) or its key
    /// cannot be written; `key` is empty when the record has no name yet.
    case invalidRecord(key: String, reason: String)

    /// The file the error is about, or the record key for `invalidRecord`.
    public var path: String {
        switch self {
        case .io(let path, _), .malformed(let path, _), .unsupported(let path, _),
            .refusedGlobal(let path, _):
            path
        case .invalidRecord(let key, _):
            key
        }
    }

    /// What went wrong, without the path.
    public var reason: String {
        switch self {
        case .io(_, let reason), .malformed(_, let reason), .unsupported(_, let reason),
            .invalidRecord(_, let reason):
            reason
        case .refusedGlobal(_, let name):
            "refusing to load \(name): only plain state dicts are read; "
                + "this is the same contract as torch.load(weights_only=True)"
        }
    }

    public var description: String {
        switch self {
        case .io: "\(path): \(reason)"
        case .malformed: "\(path): malformed file: \(reason)"
        case .unsupported: "\(path): unsupported: \(reason)"
        case .refusedGlobal: "\(path): \(reason)"
        case .invalidRecord: path.isEmpty ? "tensor record: \(reason)" : "tensor '\(path)': \(reason)"
        }
    }
}

extension StateDictError {
    /// The file's bytes, memory-mapped: tensors are copied out, so pages are read once.
    static func mappedContents(of url: URL) throws(StateDictError) -> Data {
        try requireRegularFile(url)
        do {
            return try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    /// A folder, a FIFO (whose open would wait forever for a writer) or a device is not a
    /// model file: said plainly, before anything opens it.
    package static func requireRegularFile(_ url: URL) throws(StateDictError) {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            throw .io(path: url.path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw .io(path: url.path, reason: "a folder, not a model file")
        default: throw .io(path: url.path, reason: "not a regular file (a FIFO, a socket or a device), so it was not opened")
        }
    }
}
