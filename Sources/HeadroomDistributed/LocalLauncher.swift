public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts `count` copies of a program on this machine as the workers of one data-parallel
/// run, the way `torchrun --standalone --nproc-per-node N` does: each with RANK, WORLD_SIZE,
/// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, rank 0 serving the
/// rendezvous. If one worker fails, the others are stopped (SIGTERM, then SIGKILL after a
/// grace period) and the failure names the rank.
public struct LocalLauncher: Sendable {
    public var executable: URL
    public var arguments: [String]
    public var count: Int
    public var masterAddress: String
    public var masterPort: Int
    /// Seconds the other workers get to stop after SIGTERM before SIGKILL.
    public var gracePeriod: Double = 10

    public init(executable: URL, arguments: [String], count: Int, masterAddress: String = "127.0.0.1", masterPort: Int = 29500) {
        self.executable = executable
        self.arguments = arguments
        self.count = count
        self.masterAddress = masterAddress
        self.masterPort = masterPort
    }

    /// How a worker ended.
    public struct WorkerExit: Sendable, Equatable, CustomStringConvertible {
        public var rank: Int
        public var status: Int32
        public var bySignal: Bool
        public var succeeded: Bool { status == 0 && !bySignal }
        /// Stopped cleanly by Ctrl-C or SIGTERM (a checkpoint saved): not a failure.
        public var interrupted: Bool { status == 130 && !bySignal }
        public var description: String {
            bySignal ? "rank \(rank) was killed by signal \(status)" : "rank \(rank) exited with status \(status)"
        }
    }

    public enum LaunchError: Error, CustomStringConvertible {
        case portTaken(address: String, port: Int)
        case cannotStart(rank: Int, underlying: String)
        case workerFailed(WorkerExit)
        /// The workers stopped cleanly on a signal (after a checkpoint).
        case interrupted

        public var description: String {
            switch self {
            case let .portTaken(address, port):
                "the rendezvous port \(port) on \(address) is taken by another process: choose a free one with --master-port"
            case let .cannotStart(rank, underlying): "could not start rank \(rank): \(underlying)"
            case let .workerFailed(exit): "\(exit); the other workers were stopped"
            case .interrupted: "stopped on a signal"
            }
        }
    }

    /// Runs the workers to the end. Throws when a worker fails (naming the first rank that
    /// did) or cannot start; `forwarding` receives the signals to pass on (SIGINT, SIGTERM).
    public func run(signals: SignalForwarder? = nil) throws(LaunchError) {
        if !Self.portIsFree(masterPort) { throw .portTaken(address: masterAddress, port: masterPort) }
        let state = LaunchState()
        var processes: [Process] = []
        for rank in 0..<count {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(
                TorchrunEnvironment.localWorkerVariables(rank: rank, worldSize: count, masterAddress: masterAddress, masterPort: masterPort)
            ) { $1 }
            process.terminationHandler = { finished in
                let exit = WorkerExit(
                    rank: rank, status: finished.terminationStatus, bySignal: finished.terminationReason == .uncaughtSignal)
                state.finished(exit)
            }
            do {
                try process.run()
            } catch {
                for started in processes { started.terminate() }
                throw .cannotStart(rank: rank, underlying: "\(error)")
            }
            processes.append(process)
        }
        let identifiers = processes.map(\.processIdentifier)
        signals?.forward = { number in
            // Workers in the launcher's process group already got a terminal's signal.
            for pid in identifiers where getpgid(pid) >= 0 && getpgid(pid) != getpgrp() { kill(pid, number) }
        }
        defer { signals?.forward = nil }
        var stopping = false
        var deadline = Date.distantFuture
        while true {
            let (exits, firstFailure) = state.snapshot()
            if exits.count == count { break }
            if firstFailure != nil && !stopping {
                stopping = true
                deadline = Date().addingTimeInterval(gracePeriod)
                for process in processes where process.isRunning { process.terminate() }
            }
            if stopping && Date() > deadline {
                for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
                deadline = .distantFuture
            }
            state.waitForChange(timeout: 0.2)
        }
        let (exits, firstFailure) = state.snapshot()
        if let failure = firstFailure { throw .workerFailed(failure) }
        if exits.contains(where: \.interrupted) { throw .interrupted }
    }

    /// Whether a TCP port can be bound on every interface (as the TCPStore server binds it).
    public static func portIsFree(_ port: Int) -> Bool {
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, type, 0)
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr.s_addr = INADDR_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

/// Passes signals the launcher receives on to its workers.
public final class SignalForwarder: @unchecked Sendable {
    // @unchecked: `forward` is guarded by `lock`.
    private let lock = NSLock()
    private var handler: (@Sendable (Int32) -> Void)?

    public init() {}

    public var forward: (@Sendable (Int32) -> Void)? {
        get { lock.withLock { handler } }
        set { lock.withLock { handler = newValue } }
    }

    public func deliver(_ number: Int32) { forward?(number) }
}

/// Worker exits as they come, shared with Process's termination handlers.
private final class LaunchState: @unchecked Sendable {
    // @unchecked: guarded by `condition`.
    private let condition = NSCondition()
    private var exits: [LocalLauncher.WorkerExit] = []

    func finished(_ exit: LocalLauncher.WorkerExit) {
        condition.lock()
        exits.append(exit)
        condition.broadcast()
        condition.unlock()
    }

    func snapshot() -> (exits: [LocalLauncher.WorkerExit], firstFailure: LocalLauncher.WorkerExit?) {
        condition.lock()
        defer { condition.unlock() }
        // A worker interrupted cleanly is no failure: the others stop after the same step and
        // rank 0 is still saving its checkpoint, so they must not be killed.
        return (exits, exits.first { !$0.succeeded && !$0.interrupted })
    }

    func waitForChange(timeout: Double) {
        condition.lock()
        _ = condition.wait(until: Date().addingTimeInterval(timeout))
        condition.unlock()
    }
}
