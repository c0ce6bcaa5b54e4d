public import Torch

/// `--dist-backend`: which library runs the collectives of CUDA tensors (the gradients'
/// buckets, the step's small all-reduce, the first broadcast). The agreements, barriers and
/// synchronised BatchNorm's payload are CPU tensors and always go through Gloo, so the
/// protocol that keeps a failed rank from hanging the others is the same with either.
public enum DistributedBackend: String, Sendable, CaseIterable {
    /// NCCL when the worker trains on a GPU and NCCL loads; else Gloo, saying why.
    case auto
    case gloo
    case nccl

    /// What a worker on `device` uses.
    public struct Choice: Sendable, Equatable {
        /// The CUDA device NCCL binds to; nil for Gloo alone.
        public var ncclDevice: Int?
        /// Why `auto` fell back to Gloo on a GPU, for the run's log.
        public var note: String?
    }

    /// Resolves the choice for a worker on `device`; `ncclUnavailable` is
    /// ``ProcessGroup/ncclUnavailableReason`` (a parameter, so tests can give any answer).
    public func choose(for device: Device, ncclUnavailable: @autoclosure () -> String?) throws(DistributedSetupError) -> Choice {
        guard case let .cuda(index) = device else {
            if self == .nccl {
                throw DistributedSetupError(problems: [
                    "--dist-backend nccl runs collectives on CUDA tensors, but this worker trains on \(device): "
                        + "use --dist-backend gloo (or auto) on CPUs"
                ])
            }
            return Choice()
        }
        switch self {
        case .gloo:
            return Choice()
        case .nccl:
            if let reason = ncclUnavailable() {
                throw DistributedSetupError(problems: ["--dist-backend nccl: NCCL cannot be used here: \(reason). --dist-backend gloo works without it"])
            }
            return Choice(ncclDevice: index)
        case .auto:
            if let reason = ncclUnavailable() { return Choice(note: "NCCL cannot be used here: \(reason)") }
            return Choice(ncclDevice: index)
        }
    }
}
