import Torch

/// Runs `body` with the libtorch ops of the current thread single-threaded, then puts the
/// thread's setting back (these are shared Dispatch threads).
///
/// Loader and drawing threads are the parallelism: libtorch's own threads beside them would
/// oversubscribe the cores, and their spin-waiting between ops took 35% of the CPU time of a
/// one-worker loader (perf, bench/loader.py's images).
func withSingleThreadedTorch<R>(_ body: () throws -> R) rethrows -> R {
    let threads = Torch.threadCount
    try? Torch.setThreadCountForCurrentThread(1)
    defer { try? Torch.setThreadCountForCurrentThread(threads) }
    return try body()
}
