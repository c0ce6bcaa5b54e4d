import Foundation
public import Torch

/// Runs `body(group)` for ranks 0..<worldSize concurrently, as threads of this process, each
/// with its own Gloo process group on 127.0.0.1; returns each rank's result, rank by rank.
public func withLocalRanks<T: Sendable>(
    _ worldSize: Int = 2, timeoutSeconds: Double = 20, _ body: @escaping @Sendable (ProcessGroup) throws -> T
) throws -> [T] {
    let port = freeTCPPort()
    let results = RankResults<T>(worldSize)
    let groups = RankResults<ProcessGroup>(worldSize)
    // Threads of their own: each rank blocks in the rendezvous until the others arrive.
    let done = DispatchGroup()
    for rank in 0..<worldSize {
        done.enter()
        Thread.detachNewThread {
            results.set(rank, Result {
                let group = try ProcessGroup(
                    host: "127.0.0.1", port: port, rank: rank, worldSize: worldSize, timeoutSeconds: timeoutSeconds,
                    hostsStore: rank == 0)
                groups.set(rank, .success(group))
                return try body(group)
            })
            done.leave()
        }
    }
    done.wait()
    // The groups live as long as the test process: no group is ever torn down inside it.
    // Two groups and a store server torn down in one process crashed a later test about one
    // run in three (a Gloo or store thread outliving its owner), and a peer leaving
    // mid-collective is the same teardown; workers are separate processes and never do that.
    // A peer that dies is tested with real processes: DistributedTrainingTests kills one.
    keepForTheProcess(groups)
    for case let .failure(error)? in results.values { print("rank failed: \(error)") }
    return try results.values.map { try $0!.get() }
}

/// Keeps `object` alive until the process ends: a process group a rank thread made (a
/// sibling group inside a ``GradientReducer`` too) must never be torn down while the test
/// process runs (see ``withLocalRanks(_:timeoutSeconds:_:)``).
public func keepForTheProcess(_ object: AnyObject) {
    LocalRanksRetention.keep(object)
}

private enum LocalRanksRetention {
    nonisolated(unsafe) static var retained: [AnyObject] = []
    static let lock = NSLock()
    static func keep(_ object: AnyObject) {
        lock.lock()
        retained.append(object)
        lock.unlock()
    }
}

private final class RankResults<T>: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private(set) var values: [Result<T, any Error>?]
    init(_ count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<T, any Error>) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
}
