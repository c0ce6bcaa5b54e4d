public import Foundation

/// Writes scalars to an event file TensorBoard reads:
/// `<directory>/events.out.tfevents.<unix time>.<hostname>`.
///
/// Records are buffered and written when `flush()` or `close()` is called, when the
/// buffer grows past `bufferLimit`, or on the first `add` after `flushInterval`, so a
/// live TensorBoard keeps up without a system call per scalar. Not thread-safe: one
/// owner (the training loop) adds, flushes and closes.
public final class TensorBoardWriter {
    public let fileURL: URL
    private var handle: FileHandle?
    private var buffer: [UInt8] = []
    private var lastFlush = ContinuousClock.now
    private let flushInterval: Duration
    private let bufferLimit: Int

    /// Creates the directory if needed and starts a new event file in it.
    public convenience init(
        directory: URL, flushInterval: Duration = .seconds(10), bufferLimit: Int = 64 * 1024
    ) throws(TensorBoardError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TensorBoardError(path: directory.path, reason: error.localizedDescription)
        }
        let now = Date()
        try self.init(
            fileURL: Self.unusedFileURL(in: directory, time: now), creationTime: now,
            flushInterval: flushInterval, bufferLimit: bufferLimit)
    }

    /// Writes to `fileURL`, which need not be a regular file (tests use /dev/full).
    init(fileURL: URL, creationTime: Date, flushInterval: Duration, bufferLimit: Int) throws(TensorBoardError) {
        self.fileURL = fileURL
        self.flushInterval = flushInterval
        self.bufferLimit = bufferLimit
        if !FileManager.default.fileExists(atPath: fileURL.path) {
            guard FileManager.default.createFile(atPath: fileURL.path, contents: nil) else {
                throw TensorBoardError(path: fileURL.path, reason: "cannot create the file")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: fileURL)
        } catch {
            throw TensorBoardError(path: fileURL.path, reason: error.localizedDescription)
        }
        buffer = TFRecord.framed(TensorBoardEvent.fileVersion(wallTime: creationTime.timeIntervalSince1970))
        try flush()
    }

    deinit {
        // Best effort for a writer its owner forgot to close; errors have nowhere to go here.
        try? close()
    }

    /// Logs `value` under `tag` (slashes group charts: "loss/train") at optimiser step `step`.
    public func add(scalar value: Double, tag: String, step: Int, wallTime: Date = Date()) throws(TensorBoardError) {
        guard handle != nil else { throw TensorBoardError(path: fileURL.path, reason: "the writer is closed") }
        let event = TensorBoardEvent.scalar(
            Float(value), tag: tag, step: Int64(step), wallTime: wallTime.timeIntervalSince1970)
        buffer.append(contentsOf: TFRecord.framed(event))
        if buffer.count >= bufferLimit || ContinuousClock.now - lastFlush >= flushInterval {
            try flush()
        }
    }

    /// Logs markdown (a table, a note) for TensorBoard's Text tab under `tag` at `step`.
    public func add(text markdown: String, tag: String, step: Int, wallTime: Date = Date()) throws(TensorBoardError) {
        guard handle != nil else { throw TensorBoardError(path: fileURL.path, reason: "the writer is closed") }
        buffer.append(contentsOf: TFRecord.framed(TensorBoardEvent.text(markdown, tag: tag, step: Int64(step), wallTime: wallTime.timeIntervalSince1970)))
    }

    /// Marks a restart at `step`: TensorBoard forgets what it read from `step` on (see
    /// `TensorBoardEvent.sessionStart`).
    public func add(sessionStartAt step: Int, wallTime: Date = Date()) throws(TensorBoardError) {
        guard handle != nil else { throw TensorBoardError(path: fileURL.path, reason: "the writer is closed") }
        buffer.append(contentsOf: TFRecord.framed(TensorBoardEvent.sessionStart(step: Int64(step), wallTime: wallTime.timeIntervalSince1970)))
    }

    /// Charts of several scalar tags each, for the Custom Scalars tab (written once per file).
    public func add(
        layout categories: [(category: String, charts: [(title: String, tags: [String])])], wallTime: Date = Date()
    ) throws(TensorBoardError) {
        guard handle != nil else { throw TensorBoardError(path: fileURL.path, reason: "the writer is closed") }
        buffer.append(contentsOf: TFRecord.framed(TensorBoardEvent.customScalarsLayout(categories, wallTime: wallTime.timeIntervalSince1970)))
    }

    /// Hands buffered records to the operating system. On failure they are dropped, so a
    /// later flush never writes a record twice or after a torn one.
    public func flush() throws(TensorBoardError) {
        lastFlush = ContinuousClock.now
        guard let handle, !buffer.isEmpty else { return }
        let pending = Data(buffer)
        buffer.removeAll(keepingCapacity: true)
        do {
            try handle.write(contentsOf: pending)
        } catch {
            throw TensorBoardError(path: fileURL.path, reason: error.localizedDescription)
        }
    }

    /// Flushes and closes the file; later calls to `close()` do nothing.
    public func close() throws(TensorBoardError) {
        guard let handle else { return }
        defer { self.handle = nil }
        try flush()
        do {
            try handle.close()
        } catch {
            throw TensorBoardError(path: fileURL.path, reason: error.localizedDescription)
        }
    }

    /// TensorBoard's naming; a numeric suffix if a writer in this second already took the name.
    private static func unusedFileURL(in directory: URL, time: Date) -> URL {
        let base = "events.out.tfevents.\(Int(time.timeIntervalSince1970)).\(ProcessInfo.processInfo.hostName)"
        var candidate = directory.appendingPathComponent(base)
        var suffix = 1
        while FileManager.default.fileExists(atPath: candidate.path) {
            candidate = directory.appendingPathComponent("\(base).\(suffix)")
            suffix += 1
        }
        return candidate
    }
}
