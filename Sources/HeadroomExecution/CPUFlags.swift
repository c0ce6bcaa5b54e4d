import Foundation

/// The instruction-set flags /proc/cpuinfo lists, behind the automatic choices of
/// precision and memory format.
enum CPUFlags {
    /// This machine's flags (the first processor's; empty where /proc/cpuinfo is missing).
    static let current: Set<String> = {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return parse(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map(String.init) ?? "")
    }()

    /// The words of a "flags : fpu avx2 …" line.
    static func parse(_ line: String) -> Set<String> {
        Set(line.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
    }
}
