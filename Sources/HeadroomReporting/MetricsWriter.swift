public import Foundation

/// `RUN_DIR/metrics.jsonl`: one JSON object per line — per optimiser step, per epoch and
/// per event — each written from its typed record, appended and flushed as it happens, so a
/// killed run keeps its history (a reader skips a torn last line). docs/metrics.md's table lists
/// the fields, and a test holds it to what these types write.
public final class MetricsWriter: @unchecked Sendable {
    // @unchecked: the handle is only used under `lock`.
    private let handle: FileHandle
    private let lock = NSLock()
    public let url: URL
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Measured values write null for NaN and infinity themselves; anything else that is
        // not finite becomes a string rather than a failed write.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }()

    /// Opens the log for appending, creating it if needed.
    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func append(_ step: StepRecord) throws {
        var nonFinite: [String: String] = [:]
        if let name = Measured.nonFiniteName(step.loss) { nonFinite["loss"] = name }
        if let name = Measured.nonFiniteName(step.samplesPerSecond) { nonFinite["samples_per_s"] = name }
        try write(Row(type: "step", body: step, nonFinite: nonFinite))
    }

    public func append(_ epoch: EpochRecord) throws {
        var nonFinite: [String: String] = [:]
        if let name = Measured.nonFiniteName(epoch.trainLoss) { nonFinite["train_loss"] = name }
        if let name = Measured.nonFiniteName(epoch.validationLoss) { nonFinite["val_loss"] = name }
        try write(Row(type: "epoch", body: epoch, nonFinite: nonFinite))
    }

    public func append(_ event: RunEvent, at position: RunEvent.Position) throws {
        try write(Row(type: event.type, position: position, body: event, nonFinite: event.nonFiniteFields))
    }

    /// Keeps the rows up to and including the last `checkpoint` row for `step`: what a run
    /// resumed from that checkpoint will write again. Returns the rows dropped (none when the
    /// log names no such checkpoint, as in logs from before checkpoints were logged).
    @discardableResult
    public func truncate(afterCheckpointAt step: Int) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        let data = try Data(contentsOf: url)
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let decoder = JSONDecoder()
        guard let last = lines.lastIndex(where: { line in
            guard case .event(let position, .checkpoint) = try? decoder.decode(MetricsRecord.self, from: line) else { return false }
            return position.step == step
        }) else { return 0 }
        let kept = lines[...last].reduce(into: Data()) { $0.append(contentsOf: $1); $0.append(0x0A) }
        try handle.truncate(atOffset: UInt64(kept.count))
        try handle.seekToEnd()
        return lines.count - last - 1
    }

    private func write(_ row: some Encodable) throws {
        var data = try encoder.encode(row)
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        try handle.write(contentsOf: data)
    }
}

/// One line: the record's own fields, its position for an event, `type`, and `non_finite`
/// when a value was not finite (JSON has no NaN: such a value is null).
private struct Row<Body: Encodable>: Encodable {
    var type: String
    var position: RunEvent.Position?
    var body: Body
    var nonFinite: [String: String]

    private enum CodingKeys: String, CodingKey {
        case type
        case nonFinite = "non_finite"
    }

    func encode(to encoder: any Encoder) throws {
        try position?.encode(to: encoder)
        try body.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        if !nonFinite.isEmpty { try container.encode(nonFinite, forKey: .nonFinite) }
    }
}
