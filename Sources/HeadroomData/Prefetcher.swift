import Dispatch
import Foundation

/// Produces items on a background thread ahead of their use, at most `depth` ahead, in
/// order: the loader decodes the next batches while the current one trains.
public final class Prefetcher<Item>: @unchecked Sendable {
    // @unchecked: `ready` and `isCancelled` are guarded by `condition`.
    private let condition = NSCondition()
    private var ready: [Result<Item, any Error>] = []
    private var isCancelled = false
    private var produced = 0
    private let count: Int

    /// Starts producing `produce(0)`, `produce(1)`, … `produce(count - 1)`.
    public init(count: Int, depth: Int, produce: @escaping @Sendable (Int) throws -> Item) {
        self.count = count
        let thread = Thread { [self] in
            for index in 0..<count {
                condition.lock()
                while ready.count >= depth && !isCancelled { condition.wait() }
                let stop = isCancelled
                condition.unlock()
                if stop { return }
                let result = Result { try produce(index) }
                condition.lock()
                ready.append(result)
                condition.broadcast()
                condition.unlock()
                if case .failure = result { return }
            }
        }
        thread.name = "headroom-prefetch"
        thread.start()
    }

    /// The next item, waiting for it if needed; nil after the last. Rethrows a producer's error.
    public func next() throws -> Item? {
        condition.lock()
        defer { condition.unlock() }
        guard produced < count else { return nil }
        while ready.isEmpty { condition.wait() }
        let result = ready.removeFirst()
        produced += 1
        condition.broadcast()
        return try result.get()
    }

    /// Stops producing; the thread ends after the item in progress.
    public func cancel() {
        condition.lock()
        isCancelled = true
        condition.broadcast()
        condition.unlock()
    }

    deinit { cancel() }
}
