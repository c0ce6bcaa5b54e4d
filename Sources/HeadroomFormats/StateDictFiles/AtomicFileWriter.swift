package import Foundation

#if canImport(Glibc)
    import Glibc
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin
    private let systemWrite = Darwin.write
#endif

/// Writes a file so that a crash leaves either the old file or the complete
/// new one, never a torn mix: the bytes go to a temporary file in the same
/// directory (so the rename cannot cross file systems), are flushed to disk,
/// and the temporary file is renamed over the destination. The directory is
/// flushed last so the rename itself survives a power cut.
package enum AtomicFileWriter {
    /// Writes `chunks` one after another as the new contents of `url`.
    package static func write(_ chunks: [Data], to url: URL) throws(StateDictError) {
        let destination = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        // The rename would replace whatever is there: /dev/null, a FIFO, a link's target's name.
        var existing = stat()
        if lstat(destination, &existing) == 0, existing.st_mode & S_IFMT != S_IFREG {
            // A refusal, not a failed call: no errno to tell (whatever it holds is stale).
            throw StateDictError.io(
                path: destination, reason: "exists and is not a regular file (a device, a FIFO, a link or a folder), so it was left alone")
        }

        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(destination, "cannot create a temporary file in \(directory)") }
        do throws(StateDictError) {
            for chunk in chunks { try writeAll(chunk, to: descriptor, path: destination) }
            guard fsync(descriptor) == 0 else { throw failure(destination, "cannot flush to disk") }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard close(descriptor) == 0 else {
            let error = failure(destination, "cannot close the temporary file")
            unlink(temporary)
            throw error
        }
        guard rename(temporary, destination) == 0 else {
            let error = failure(destination, "cannot rename the temporary file into place")
            unlink(temporary)
            throw error
        }
        syncDirectory(directory)
    }

    private static func writeAll(_ chunk: Data, to descriptor: Int32, path: String) throws(StateDictError) {
        let failed = chunk.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return true
                }
                offset += written
            }
            return false
        }
        if failed { throw failure(path, "cannot write") }
    }

    /// Best effort: some file systems refuse to fsync a directory, and the file
    /// itself is already complete on disk by then.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private static func failure(_ path: String, _ what: String) -> StateDictError {
        .io(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}
