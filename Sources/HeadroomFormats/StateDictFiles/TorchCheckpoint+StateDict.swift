extension TorchCheckpoint {
    /// Keys under which training scripts commonly nest the model's state dict,
    /// in the order they are tried.
    public static let conventionalStateDictKeys = ["state_dict", "model_state_dict", "model", "module", "net"]

    /// The state dict in the checkpoint: a dictionary of string keys to tensors.
    ///
    /// With a `keyPath`, the dictionary at that path (`["model"]`,
    /// `["ema", "state_dict"]`). Without one, the root when it is a state dict,
    /// else the first of `conventionalStateDictKeys` that holds one, else the
    /// only top-level value that is a non-empty state dict. The error lists the
    /// top-level keys so the user can pick one.
    public func stateDict(at keyPath: [String] = []) throws(StateDictError) -> StateDictRecords {
        if !keyPath.isEmpty {
            var value = root
            for (depth, key) in keyPath.enumerated() {
                guard let next = value[key] else {
                    let parent = keyPath.prefix(depth).joined(separator: ".")
                    throw .malformed(
                        path: path,
                        reason:
                            "no key \"\(key)\" in \(parent.isEmpty ? "the checkpoint" : parent); keys there: \(value.stringKeys)"
                    )
                }
                value = next
            }
            guard let records = value.tensorRecords else {
                throw .malformed(path: path, reason: "\(keyPath.joined(separator: ".")) is not a dictionary of tensors")
            }
            return records
        }

        if let records = root.tensorRecords { return records }
        for key in Self.conventionalStateDictKeys {
            if let records = root[key]?.tensorRecords { return records }
        }
        let nested = root.stringKeys.compactMap { key in root[key]?.tensorRecords }.filter { !$0.isEmpty }
        if nested.count == 1, let records = nested.first { return records }
        throw .malformed(
            path: path,
            reason:
                "cannot tell which value is the state dict; top-level keys: \(root.stringKeys); name one with a key path"
        )
    }
}
