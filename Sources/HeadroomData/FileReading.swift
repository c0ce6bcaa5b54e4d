#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An `errno` from a failed file read, with the operating system's text for it.
struct FileReadFailure: Error, Sendable {
    let code: Int32
    /// Said instead of the `errno` text when there is none that fits.
    var detail: String? = nil
    var reason: String { detail ?? String(cString: strerror(code)) }
}

/// The whole contents of the file at `path`, read with POSIX calls so a failure keeps its `errno`.
///
/// The buffer is allocated once at the size `fstat` reports and filled by `read` directly, with no
/// intermediate chunk; a file that turns out longer (one still growing, or a special file that
/// reports size 0) is read on in 4 KiB steps.
func readFileBytes(atPath path: String) -> Result<[UInt8], FileReadFailure> {
    withRegularFile(atPath: path) { descriptor, status in
        var failure: Int32 = 0
        var bytes = [UInt8](unsafeUninitializedCapacity: max(0, Int(status.st_size))) { buffer, initialized in
            initialized = readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), failure: &failure)
        }
        // Usually one empty read at the end of the file; more only when it is longer than fstat said.
        while failure == 0 {
            let tail = withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 1) { chunk in
                let count = readFully(descriptor, into: chunk, failure: &failure)
                bytes.append(contentsOf: chunk.prefix(count))
                return count
            }
            if tail == 0 { break }
        }
        return failure == 0 ? .success(bytes) : .failure(FileReadFailure(code: failure))
    }
}

/// The first `maxBytes` of the file at `path` (all of it when it is shorter), and the file's size.
func readFilePrefix(atPath path: String, maxBytes: Int) -> Result<(bytes: [UInt8], fileSize: Int), FileReadFailure> {
    withRegularFile(atPath: path) { descriptor, status in
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: max(0, min(maxBytes, Int(status.st_size)))) { buffer, initialized in
            initialized = readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), failure: &failure)
        }
        return failure == 0 ? .success((bytes, Int(status.st_size))) : .failure(FileReadFailure(code: failure))
    }
}

/// Runs `body` on `path` opened for reading, if it is a regular file, and closes it after.
private func withRegularFile<T>(
    atPath path: String, _ body: (_ descriptor: Int32, _ status: stat) -> Result<T, FileReadFailure>
) -> Result<T, FileReadFailure> {
    // Non-blocking: opening a FIFO would otherwise wait for a writer forever.
    let descriptor = PathNames.withSystemPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
    guard descriptor >= 0 else { return .failure(FileReadFailure(code: errno)) }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { return .failure(FileReadFailure(code: errno)) }
    guard (status.st_mode & S_IFMT) != S_IFDIR else { return .failure(FileReadFailure(code: EISDIR)) }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
        return .failure(FileReadFailure(code: EINVAL, detail: "not a regular file (a FIFO, a socket or a device)"))
    }
    return body(descriptor, status)
}

/// Reads until `buffer` is full or the file ends; returns the bytes read, setting `failure` on an error.
private func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, failure: inout Int32) -> Int {
    var filled = 0
    while filled < buffer.count {
        let count = read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
        if count > 0 {
            filled += count
        } else if count == 0 {
            break
        } else if errno != EINTR {
            failure = errno
            break
        }
    }
    return filled
}
