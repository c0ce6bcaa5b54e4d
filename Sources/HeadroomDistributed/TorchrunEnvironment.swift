import Foundation

/// Where this process stands among the workers of a run, read from the variables torchrun
/// (and `headroom train --nproc-per-node`) set: RANK, WORLD_SIZE, LOCAL_RANK,
/// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and TorchElastic's TORCHELASTIC_RESTART_COUNT
/// and TORCHELASTIC_USE_AGENT_STORE.
public struct TorchrunEnvironment: Sendable, Equatable {
    public var rank: Int
    public var worldSize: Int
    public var localRank: Int
    public var localWorldSize: Int
    public var masterAddress: String
    public var masterPort: Int
    /// How many times torchrun has restarted the workers (0 on the first start).
    public var restartCount: Int
    /// torchrun's agent already serves the TCPStore at MASTER_ADDR:MASTER_PORT; the
    /// workers are all clients and use the keys under "/worker/attempt_<restart>".
    public var usesAgentStore: Bool
    /// How many restarts torchrun allows (`--max-restarts`, TORCHELASTIC_MAX_RESTARTS); nil
    /// when not under torchrun's elastic agent (Headroom's own launcher restarts nothing).
    public var maximumRestarts: Int?

    /// Whether torchrun will restart the workers after this failure, and they resume by themselves.
    public var isRestartedOnFailure: Bool { (maximumRestarts ?? 0) > restartCount }

    public init(
        rank: Int, worldSize: Int, localRank: Int, localWorldSize: Int, masterAddress: String, masterPort: Int,
        restartCount: Int = 0, usesAgentStore: Bool = false
    ) {
        self.rank = rank
        self.worldSize = worldSize
        self.localRank = localRank
        self.localWorldSize = localWorldSize
        self.masterAddress = masterAddress
        self.masterPort = masterPort
        self.restartCount = restartCount
        self.usesAgentStore = usesAgentStore
    }

    /// The environment of a worker, or nil for a single process (neither RANK nor
    /// WORLD_SIZE set). Bad or missing values throw, naming the variable.
    public static func read(_ environment: [String: String]) throws(DistributedSetupError) -> TorchrunEnvironment? {
        guard environment["WORLD_SIZE"] != nil || environment["RANK"] != nil else { return nil }
        var problems: [String] = []
        func integer(_ name: String, default value: Int? = nil, in range: ClosedRange<Int>) -> Int {
            guard let text = environment[name], !text.isEmpty else {
                if let value { return value }
                problems.append("\(name) is not set (torchrun sets it; headroom train --nproc-per-node N sets it too)")
                return range.lowerBound
            }
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
                problems.append("\(name)=\(text) must be an integer in \(range.lowerBound)…\(range.upperBound)")
                return range.lowerBound
            }
            return number
        }
        let worldSize = integer("WORLD_SIZE", in: 1...65536)
        let rank = integer("RANK", in: 0...65535)
        if problems.isEmpty && rank >= worldSize { problems.append("RANK=\(rank) must be below WORLD_SIZE=\(worldSize)") }
        let localWorldSize = integer("LOCAL_WORLD_SIZE", default: worldSize, in: 1...65536)
        let localRank = integer("LOCAL_RANK", default: problems.isEmpty ? rank % localWorldSize : 0, in: 0...65535)
        if problems.isEmpty && localRank >= localWorldSize {
            problems.append("LOCAL_RANK=\(localRank) must be below LOCAL_WORLD_SIZE=\(localWorldSize)")
        }
        let address = environment["MASTER_ADDR"] ?? ""
        if address.isEmpty && worldSize > 1 { problems.append("MASTER_ADDR is not set: the host of rank 0 (127.0.0.1 on one machine)") }
        let port = integer("MASTER_PORT", default: worldSize > 1 ? nil : 29500, in: 1...65535)
        let restarts = integer("TORCHELASTIC_RESTART_COUNT", default: 0, in: 0...1_000_000)
        let maximum = environment["TORCHELASTIC_MAX_RESTARTS"].map { _ in integer("TORCHELASTIC_MAX_RESTARTS", default: 0, in: 0...1_000_000) }
        guard problems.isEmpty else { throw DistributedSetupError(problems: problems) }
        var worker = TorchrunEnvironment(
            rank: rank, worldSize: worldSize, localRank: localRank, localWorldSize: localWorldSize,
            masterAddress: address.isEmpty ? "127.0.0.1" : address, masterPort: port, restartCount: restarts,
            usesAgentStore: environment["TORCHELASTIC_USE_AGENT_STORE"] == "True")
        worker.maximumRestarts = maximum
        return worker
    }

    /// The variables to give worker `rank` of `worldSize` on one machine.
    public static func localWorkerVariables(rank: Int, worldSize: Int, masterAddress: String, masterPort: Int) -> [String: String] {
        [
            "RANK": "\(rank)", "WORLD_SIZE": "\(worldSize)", "LOCAL_RANK": "\(rank)", "LOCAL_WORLD_SIZE": "\(worldSize)",
            "GROUP_RANK": "0", "MASTER_ADDR": masterAddress, "MASTER_PORT": "\(masterPort)",
        ]
    }
}

/// The distributed setup cannot be used; each problem says what to change.
public struct DistributedSetupError: Error, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}
