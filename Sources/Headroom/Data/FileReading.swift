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
    var reason: String { String(cString: strerror(code)) }
}

/// The whole contents of the file at `path`, read with POSIX calls so a failure keeps its `errno`.
func readFileBytes(atPath path: String) -> Result<[UInt8], FileReadFailure> {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return .failure(FileReadFailure(code: errno)) }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { return .failure(FileReadFailure(code: errno)) }
    guard (status.st_mode & S_IFMT) != S_IFDIR else { return .failure(FileReadFailure(code: EISDIR)) }

    var bytes = [UInt8]()
    bytes.reserveCapacity(Int(status.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { return .success(bytes) }
        if count < 0 {
            if errno == EINTR { continue }
            return .failure(FileReadFailure(code: errno))
        }
        bytes.append(contentsOf: chunk[..<count])
    }
}
