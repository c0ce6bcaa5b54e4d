#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system questions a dataset scan asks, answered with POSIX calls.
enum FileSystem {
    /// `directory/name`, as `os.path.join` writes it for a relative name.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The folder part of a path, as `os.path.dirname`; "." for a bare file name.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    /// The names in a directory, excluding `.` and `..`, in no particular order; bytes that
    /// are not UTF-8 are kept (see `PathNames`).
    static func entries(ofDirectory path: String) -> Result<[String], FileReadFailure> {
        guard let directory = PathNames.withSystemPath(path, { opendir($0) }) else { return .failure(FileReadFailure(code: errno)) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                return errno == 0 ? .success(names) : .failure(FileReadFailure(code: errno))
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                PathNames.string(fromBytes: raw.prefix { $0 != 0 })
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// What a path is once symbolic links are followed; `nil` when it does not resolve (a broken link).
    static func isDirectory(_ path: String) -> Bool? {
        var status = stat()
        guard PathNames.withSystemPath(path, { stat($0, &status) }) == 0 else { return nil }
        return (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The canonical path with every link resolved, used to notice directories that contain themselves.
    static func realPath(_ path: String) -> String? {
        guard let resolved = PathNames.withSystemPath(path, { realpath($0, nil) }) else { return nil }
        defer { free(resolved) }
        return PathNames.string(fromCString: resolved)
    }
}
