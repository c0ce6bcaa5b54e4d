import Foundation

/// What bounds the memory a CPU run may take: the host's available memory, the container's
/// limit (cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`) less what the container
/// already uses, and the process's address-space limit (`ulimit -v`) less what it already
/// maps. Docker and Kubernetes run every job under such a limit; past it the kernel kills
/// the process without a word, so a budget is a share of the smallest.
public struct HostMemory: Sendable, Equatable {
    /// MemAvailable from /proc/meminfo.
    public var available: Int
    /// The container's limit and its working set (usage less inactive file cache), if limited.
    public var containerLimit: Int?
    public var containerUsed: Int?
    /// RLIMIT_AS and the process's current virtual size, if limited.
    public var addressSpaceLimit: Int?
    public var addressSpaceUsed: Int?

    /// Reads the running process's view; `cgroupRoot` and `procSelf` are for tests.
    public static func read(cgroupRoot: String = "/sys/fs/cgroup", meminfo: String = "/proc/meminfo", procSelf: String = "/proc/self") throws -> HostMemory {
        guard let text = try? String(contentsOfFile: meminfo, encoding: .utf8), let available = kibibytes("MemAvailable", in: text) else {
            throw HostMemoryError(reason: "cannot read MemAvailable from \(meminfo)")
        }
        var memory = HostMemory(available: available)
        // cgroup v2 (the container's own view at the root), else v1's memory controller.
        for (limit, usage, stat, inactive) in [
            ("memory.max", "memory.current", "memory.stat", "inactive_file"),
            ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes", "memory/memory.stat", "total_inactive_file"),
        ] {
            guard let bound = number(in: "\(cgroupRoot)/\(limit)") else { continue }
            // v1 writes "no limit" as a number near 2^63.
            if bound < 1 << 60 {
                let used = number(in: "\(cgroupRoot)/\(usage)") ?? 0
                let cache = (try? String(contentsOfFile: "\(cgroupRoot)/\(stat)", encoding: .utf8)).flatMap { field(inactive, in: $0) } ?? 0
                memory.containerLimit = bound
                memory.containerUsed = max(0, used - cache)
            }
            break
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur < 1 << 62 {
            memory.addressSpaceLimit = Int(limit.rlim_cur)
            memory.addressSpaceUsed = (try? String(contentsOfFile: "\(procSelf)/status", encoding: .utf8)).flatMap { kibibytes("VmSize", in: $0) }
        }
        return memory
    }

    /// The least of the three: what the process can still take.
    public var capacity: Int { bounds.map(\.bytes).min() ?? available }

    /// What binds, in words, for doctor and for errors ("the container's limit").
    public var binding: String { bounds.min { $0.bytes < $1.bytes }?.name ?? "available memory" }

    private var bounds: [(name: String, bytes: Int)] {
        var bounds = [("available memory", available)]
        if let containerLimit { bounds.append(("the container's limit", max(0, containerLimit - (containerUsed ?? 0)))) }
        if let addressSpaceLimit { bounds.append(("the address-space limit", max(0, addressSpaceLimit - (addressSpaceUsed ?? 0)))) }
        return bounds
    }

    private static func number(in path: String) -> Int? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// "name value" (memory.stat) or "name: value kB" (meminfo, status).
    private static func field(_ name: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" })
            if parts.first == Substring(name), parts.count >= 2 { return Int(parts[1]) }
        }
        return nil
    }

    private static func kibibytes(_ name: String, in text: String) -> Int? { field(name, in: text).map { $0 * 1024 } }
}

public struct HostMemoryError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
