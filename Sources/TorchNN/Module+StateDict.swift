public import Torch

/// What `load(_:strict:)` found when matching a state dict against a module.
public struct StateDictLoadReport: Sendable, CustomStringConvertible {
    public struct ShapeMismatch: Sendable {
        public var key: String
        public var expected: [Int]
        public var found: [Int]
    }

    /// Keys the module has and the state dict lacks.
    public var missingKeys: [String] = []
    /// Keys the state dict has and the module lacks.
    public var unexpectedKeys: [String] = []
    /// Keys both have with different shapes.
    public var shapeMismatches: [ShapeMismatch] = []
    /// Tensors copied into the module.
    public var loadedCount = 0

    public var isComplete: Bool { missingKeys.isEmpty && unexpectedKeys.isEmpty && shapeMismatches.isEmpty }

    /// In PyTorch's words ("Missing key(s) in state_dict: …"), first keys first.
    public var description: String {
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("missing key(s): \(listed(missingKeys))") }
        if !unexpectedKeys.isEmpty { parts.append("unexpected key(s): \(listed(unexpectedKeys))") }
        for mismatch in shapeMismatches.prefix(5) {
            parts.append("size mismatch for \(mismatch.key): the checkpoint has \(mismatch.found), the model \(mismatch.expected)")
        }
        if shapeMismatches.count > 5 { parts.append("… and \(shapeMismatches.count - 5) more size mismatches") }
        return parts.isEmpty ? "all \(loadedCount) tensors loaded" : parts.joined(separator: "; ")
    }

    private func listed(_ keys: [String]) -> String {
        let shown = keys.prefix(8).map { "\"\($0)\"" }.joined(separator: ", ")
        return keys.count > 8 ? "\(shown), … (\(keys.count) in all)" : shown
    }
}

/// A state dict that does not fit the module.
public struct StateDictMismatch: Error, CustomStringConvertible {
    public var report: StateDictLoadReport
    public init(report: StateDictLoadReport) { self.report = report }
    public var description: String { "the state dict does not fit the model: \(report)" }
}

extension Module {
    /// Compares `stateDict` with this module's own, without changing anything.
    public func match(_ stateDict: [String: Tensor]) -> StateDictLoadReport {
        var report = StateDictLoadReport()
        let own = self.stateDict()
        let ownKeys = Set(own.map(\.name))
        for (key, tensor) in own {
            guard let source = stateDict[key] else {
                report.missingKeys.append(key)
                continue
            }
            if source.shape != tensor.shape {
                report.shapeMismatches.append(.init(key: key, expected: tensor.shape, found: source.shape))
            }
        }
        report.unexpectedKeys = stateDict.keys.filter { !ownKeys.contains($0) }.sorted()
        return report
    }

    /// Copies `stateDict` into this module's tensors (converting dtype and device), as
    /// PyTorch's `load_state_dict`: with `strict`, missing or unexpected keys are errors;
    /// a shape mismatch always is. Nothing is copied unless the whole load can succeed.
    @discardableResult
    public func load(_ stateDict: [String: Tensor], strict: Bool = true) throws -> StateDictLoadReport {
        var report = match(stateDict)
        if !report.shapeMismatches.isEmpty || (strict && !report.isComplete) {
            throw StateDictMismatch(report: report)
        }
        try withoutGradient { () throws(TorchError) in
            for (key, tensor) in self.stateDict() {
                guard let source = stateDict[key] else { continue }
                try tensor.copyInPlace(from: source)
                report.loadedCount += 1
            }
        }
        return report
    }
}
