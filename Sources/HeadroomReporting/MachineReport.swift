import Foundation
import HeadroomExecution
import HeadroomFormats
public import HeadroomMemory
import Torch

/// What `headroom doctor` reports: the libtorch in use, the CPU, CUDA, and anything wrong.
public struct MachineReport: Sendable {
    public var headroomVersion: String
    public var compiledTorchVersion: String
    public var runtimeTorchVersion: String?
    public var libtorchPath: String
    /// Where libtorch came from: the LIBTORCH variable or the bootstrap's .deps/.
    public var libtorchSource: String
    public var cpuModel: String
    /// The instruction set libtorch's kernels dispatch to ("AVX2", "AVX512").
    public var cpuCapability: String
    public var logicalCores: Int
    public var threadCount: Int
    public var memoryTotalBytes: Int?
    public var memoryAvailableBytes: Int?
    /// The container's and the address-space limits, where there are any.
    public var hostMemory: HostMemory?
    public var cudaDevices: [(index: Int, totalBytes: Int?)]
    public var cudaUnavailableReason: String?
    /// Why several GPUs cannot use NCCL (asked only where CUDA is available).
    public var ncclUnavailableReason: String?
    /// Things that will stop Headroom from working, each with what to do.
    public var problems: [String]

    /// Gathers the report from the running process and machine.
    public static func gather() -> MachineReport {
        let configuration = (try? Torch.buildConfiguration()) ?? ""
        let runtime = try? Torch.runtimeVersion()
        let path = (try? Torch.libraryPath()) ?? "unknown"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let environment = ProcessInfo.processInfo.environment
        let reason = Device.cudaUnavailableReason
        let devices: [(index: Int, totalBytes: Int?)] =
            reason == nil
            ? (0..<Device.cudaDeviceCount).map { ($0, try? Device.cuda($0).cudaMemoryInfo().total) } : []

        var problems: [String] = []
        if let runtime, runtime != Torch.pinnedVersion {
            problems.append(
                "the loaded libtorch is \(runtime), Headroom is built for \(Torch.pinnedVersion): run 'make setup' or point LIBTORCH at a PyTorch \(Torch.pinnedVersion) install, then rebuild")
        }
        return MachineReport(
            headroomVersion: HeadroomRelease.version,
            compiledTorchVersion: Torch.compiledVersion,
            runtimeTorchVersion: runtime,
            libtorchPath: path,
            libtorchSource: environment["LIBTORCH"].map { "LIBTORCH=\($0)" } ?? "bootstrap (.deps/python/torch)",
            cpuModel: field("model name", in: cpuinfo, separator: ":") ?? "unknown",
            cpuCapability: field("CPU capability usage", in: configuration, separator: ":") ?? "unknown",
            logicalCores: ProcessInfo.processInfo.activeProcessorCount,
            threadCount: Torch.threadCount,
            memoryTotalBytes: field("MemTotal", in: meminfo, separator: ":").flatMap(kibibytes),
            memoryAvailableBytes: field("MemAvailable", in: meminfo, separator: ":").flatMap(kibibytes),
            hostMemory: try? HostMemory.read(),
            cudaDevices: devices,
            cudaUnavailableReason: reason,
            ncclUnavailableReason: reason == nil ? ProcessGroup.ncclUnavailableReason : nil,
            problems: problems)
    }

    /// The report as aligned "name: value" lines.
    public var lines: [(String, String)] {
        var rows: [(String, String)] = [
            ("headroom", headroomVersion),
            ("libtorch", "\(runtimeTorchVersion ?? "unknown") (compiled against \(compiledTorchVersion))"),
            ("libtorch path", libtorchPath),
            ("libtorch from", libtorchSource),
            ("cpu", cpuModel),
            ("cpu kernels", cpuCapability),
            ("cores / threads", "\(logicalCores) logical cores, \(threadCount) intra-op threads"),
            ("precision auto", Precision.automaticChoice(for: .cpu)),
        ]
        if let total = memoryTotalBytes, let available = memoryAvailableBytes {
            rows.append(("memory", "\(formatBytes(available)) available of \(formatBytes(total))"))
        }
        if let host = hostMemory {
            if let limit = host.containerLimit {
                rows.append(("container limit", "\(formatBytes(limit)), \(formatBytes(host.containerUsed ?? 0)) in use"))
            }
            if let limit = host.addressSpaceLimit {
                rows.append(("address space", "limited to \(formatBytes(limit)), \(formatBytes(host.addressSpaceUsed ?? 0)) mapped"))
            }
            rows.append(("budgets", "shares of \(formatBytes(host.capacity)) (\(host.binding))"))
        }
        if let reason = cudaUnavailableReason {
            rows.append(("cuda", "unavailable (\(reason))"))
        } else {
            for device in cudaDevices {
                rows.append(("cuda:\(device.index)", device.totalBytes.map { formatBytes($0) } ?? "memory unknown"))
            }
            if let first = cudaDevices.first { rows.append(("precision auto", Precision.automaticChoice(for: .cuda(first.index)))) }
            rows.append(("nccl", ncclUnavailableReason.map { "unavailable (\($0)): several GPUs use Gloo" } ?? "available"))
        }
        return rows
    }

    private static func field(_ name: String, in text: String, separator: Character) -> String? {
        for line in text.split(separator: "\n") where line.contains(name) {
            guard let split = line.firstIndex(of: separator) else { continue }
            return line[line.index(after: split)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    private static func kibibytes(_ value: String) -> Int? {
        Int(value.split(separator: " ").first ?? "").map { $0 * 1024 }
    }
}
