import CTorch
// DType lives below Torch so that libtorch-free code can name it; users of Torch see it here.
@_exported public import TorchTypes

/// Process-wide libtorch settings and facts.
public enum Torch {
    /// The libtorch version Headroom was compiled against.
    public static let pinnedVersion = "2.11.0"

    /// The libtorch version the shim was compiled against, e.g. "2.11.0".
    public static var compiledVersion: String { String(cString: ctorch_compiled_version()) }

    /// libtorch's build configuration as `torch.__config__.show()` prints it.
    public static func buildConfiguration() throws(TorchError) -> String {
        try takeString { ctorch_runtime_config($0) }
    }

    /// The version recorded in the loaded library's build configuration.
    public static func runtimeVersion() throws(TorchError) -> String? {
        let configuration = try buildConfiguration()
        // The build settings line reads "…, TORCH_VERSION=2.11.0, …".
        let settings = configuration.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " })
        return settings.first { $0.hasPrefix("TORCH_VERSION=") }.map { String($0.dropFirst("TORCH_VERSION=".count)) }
    }

    /// Path of the libtorch_cpu.so this process loaded.
    public static func libraryPath() throws(TorchError) -> String {
        try takeString { ctorch_library_path($0) }
    }

    /// Intra-op threads libtorch uses.
    public static var threadCount: Int {
        get {
            var count: Int32 = 0
            _ = ctorch_num_threads(&count)
            return Int(count)
        }
    }

    /// Sets the number of intra-op threads (at least 1).
    public static func setThreadCount(_ count: Int) throws(TorchError) {
        try check(ctorch_set_num_threads(Int32(clamping: count)))
    }

    /// Limits the intra-op threads of libtorch ops called from the current thread only: a
    /// loader thread that resizes with libtorch runs single-threaded beside the others
    /// instead of oversubscribing the cores.
    public static func setThreadCountForCurrentThread(_ count: Int) throws(TorchError) {
        try check(ctorch_set_thread_local_num_threads(Int32(clamping: count)))
    }

    /// Keeps freed host memory in the process instead of handing it back to the kernel after
    /// every step, which costs page faults the next step (about a tenth of a CPU training
    /// step for resnet18). The peak is unchanged; resident memory stays at it.
    public static func retainFreedHostMemory() throws(TorchError) {
        try check(ctorch_retain_freed_host_memory())
    }

    /// Seeds libtorch's default generators.
    public static func manualSeed(_ seed: UInt64) throws(TorchError) {
        try check(ctorch_manual_seed(seed))
    }

    /// Number of tensor handles alive in the process; for leak tests.
    public static var liveTensorCount: Int { Int(ctorch_live_tensor_count()) }

    private static func takeString(_ call: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32) throws(TorchError) -> String {
        var text: UnsafeMutablePointer<CChar>?
        try check(call(&text))
        defer { ctorch_string_free(text) }
        return text.map { String(cString: $0) } ?? ""
    }
}
