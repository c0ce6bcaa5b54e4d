import Foundation
public import HeadroomExecution
public import Torch

/// How much memory a run may use: a fraction of the device (`80%`) or a size (`6GiB`).
public enum MemoryBudget: Sendable, Equatable, CustomStringConvertible {
    case fraction(Double)
    case bytes(Int)

    /// The default: 80% — of the GPU's memory on CUDA, of the memory available at start on CPU.
    public static let standard = MemoryBudget.fraction(0.8)

    /// Parses "80%", "0.8", "6GiB", "512MiB", "1.5GB", "2048" (bytes). Decimal units (GB)
    /// are powers of 1000, binary ones (GiB) of 1024, as everywhere else.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            guard let percent = Double(trimmed.dropLast()), percent > 0, percent <= 100 else { return nil }
            self = .fraction(percent / 100)
            return
        }
        let kibi = 1024.0
        let units: [(String, Double)] = [
            ("KiB", kibi), ("MiB", kibi * kibi), ("GiB", kibi * kibi * kibi), ("TiB", kibi * kibi * kibi * kibi),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
            ("K", kibi), ("M", kibi * kibi), ("G", kibi * kibi * kibi), ("B", 1),
        ]
        for (suffix, scale) in units where trimmed.uppercased().hasSuffix(suffix.uppercased()) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = Double(number), value > 0, value * scale < Self.largestSize else { return nil }
            self = .bytes(Int(value * scale))
            return
        }
        guard let value = Double(trimmed), value > 0, value < Self.largestSize else { return nil }
        // A bare number at most 1 reads as a fraction, larger ones as bytes.
        self = value <= 1 ? .fraction(value) : .bytes(Int(value))
    }

    /// Sizes from 8 EiB on are not sizes (and do not fit an Int): "1e30GiB" is refused.
    private static let largestSize = 0x1p63

    public var description: String {
        switch self {
        case let .fraction(value): "\((value * 1000).rounded() / 10)%"
        case let .bytes(count): formatBytes(count)
        }
    }

    /// The budget in bytes on `device`: a fraction of a GPU's total memory, or on CPU of
    /// what this process may take now (see `capacity(of:)`). A size beyond that cannot keep
    /// the run out of the kernel's OOM killer: refused.
    public func resolve(on device: Device) throws -> Int {
        let host = device.isCUDA ? nil : try HostMemory.read()
        let capacity = try host?.capacity ?? Self.capacity(of: device)
        let bytes = resolve(capacity: capacity)
        guard bytes <= capacity else {
            let what = host.map { "this process can take (\($0.binding))" } ?? "this GPU has"
            throw MemoryBudgetError(
                reason: "--memory-budget \(self) is more than the \(formatBytes(capacity)) \(what): give a percentage (80%) or a smaller size")
        }
        return bytes
    }

    /// The budget in bytes when a fraction is of `capacity`.
    public func resolve(capacity: Int) -> Int {
        switch self {
        case let .bytes(count): count
        case let .fraction(value): Int(value * Double(capacity))
        }
    }

    /// What a fraction is a fraction of: a GPU's total memory, or on CPU the least of the
    /// host's available memory, the container's limit and the address-space limit.
    public static func capacity(of device: Device) throws -> Int {
        if device.isCUDA { return try device.cudaMemoryInfo().total }
        return try HostMemory.read().capacity
    }
}

/// A budget the device cannot give.
public struct MemoryBudgetError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension MemoryBudget: OptionText {
    /// `"80.0%"`, `"6442450944B"`: exact, where `description` rounds for people.
    public var optionText: String {
        switch self {
        case .fraction(let value): "\(value * 100)%"
        case .bytes(let count): "\(count)B"
        }
    }
}
