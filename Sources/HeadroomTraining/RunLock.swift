import Foundation

/// An exclusive lock on a run directory for the life of a run: `flock` on `RUN_DIR/.lock`,
/// which holds the holder's PID. A second writer — another `train` on the same `--out`, a
/// `--resume` of a run still training — is refused at once, naming the holder. The kernel
/// drops the lock when the process ends, however it ends, so a crash leaves nothing stale.
final class RunLock {
    private let descriptor: Int32

    init(directory: URL) throws {
        let path = directory.appendingPathComponent(".lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw TrainingSetupError(problems: ["cannot create the lock file \(path): \(String(cString: strerror(errno)))"])
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            guard code == EWOULDBLOCK else {
                throw TrainingSetupError(problems: ["cannot lock \(path): \(String(cString: strerror(code)))"])
            }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            let who = holder.flatMap { Int32($0) }.map { "another headroom process (PID \($0))" } ?? "another headroom process"
            throw TrainingSetupError(problems: [
                "\(directory.path) is in use by \(who): wait for it to finish, stop it, or choose another --out"
            ])
        }
        let pid = Data("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
