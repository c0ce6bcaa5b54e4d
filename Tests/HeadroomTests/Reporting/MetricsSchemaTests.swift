import Foundation
import Testing
import TestSupport

@testable import HeadroomReporting

/// metrics.jsonl's schema lives in its record types; docs/metrics.md's table must list exactly
/// the fields they write, and what is written must read back as written.
@Suite struct MetricsSchemaTests {
    let directory = try! TemporaryDirectory()

    static let position = RunEvent.Position(time: 5, epoch: 1, step: 9)

    /// One record of every type, every optional field set.
    static let events: [RunEvent] = [
        .outOfMemory(.init(
            resolution: 64, microBatch: 8, newMicroBatch: 4, requestedBytes: 1 << 20, activationCheckpointing: ["stem"],
            streaming: .init(through: .layer2, bands: 8))),
        .replan(.init(
            resolution: 64, microBatch: 4, accumulation: 2, predictedPeakBytes: 100, verifiedPeakBytes: 101, budgetBytes: 200,
            activationCheckpointing: ["stem"], streaming: .init(through: .layer1, bands: 16), recomputeOverhead: 0.2,
            uncheckpointedMicroBatch: 1)),
        .checkpoint(.init(path: "/run/checkpoints/step-00000009", reason: "epoch")),
        .badImage(.init(path: "/data/a.jpg", reason: "truncated", split: "train")),
        .stage(.init(resolution: 96)),
        .diverged(.init(loss: .nan)),
        .resumed(.init(fromStep: 6, droppedRows: 3, torchrunRestart: 1)),
    ]
    static let step = StepRecord(
        time: 4, epoch: 1, step: 9, samples: 72, loss: .infinity, learningRate: 0.1, microBatch: 4, accumulation: 2,
        resolution: 64, peakBytes: 100, budgetBytes: 200, samplesPerSecond: 3.5, allReduceSeconds: 0.01, worldSize: 2)
    static let epoch = EpochRecord(
        time: 6, epoch: 1, step: 9, samples: 72, trainLoss: 1.5, trainTop1: 0.5, validationLoss: 1.25, validationTop1: 0.6,
        validationTop5: 0.9, validationStreaming: .init(through: .layer2, bands: 8), epochSeconds: 3,
        averageValidationLoss: 1.3, averageValidationTop1: 0.55, resolution: 64, learningRate: 0.1)

    func writtenRows() throws -> [[String: Any]] {
        let url = directory.url.appendingPathComponent("metrics.jsonl")
        let writer = try MetricsWriter(url: url)
        try writer.append(Self.step)
        try writer.append(Self.epoch)
        for event in Self.events { try writer.append(event, at: Self.position) }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// docs/metrics.md's metrics.jsonl table: type → the backticked field names outside
    /// parentheses (values and remarks sit inside them).
    static func readmeTable() throws -> [String: Set<String>] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/metrics.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "`metrics.jsonl` rows all have"))
        var table: [String: Set<String>] = [:]
        for line in text[start.upperBound...].split(separator: "\n").drop(while: { !$0.hasPrefix("|") }) {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, cells[0].hasPrefix("`") else { continue }
            var fields = cells[1]
            while let open = fields.firstIndex(of: "("), let close = fields[open...].firstIndex(of: ")") {
                fields.removeSubrange(open...close)
            }
            let names = fields.matches(of: /`([a-z0-9_]+)`/).map { String($0.output.1) }
            table[String(cells[0].dropFirst().dropLast())] = Set(names)
        }
        return table
    }

    @Test func theReadmeListsExactlyTheFieldsEachTypeWrites() throws {
        var written: [String: Set<String>] = [:]
        for row in try writtenRows() {
            let type = try #require(row["type"] as? String)
            written[type] = Set(row.keys).subtracting(["type", "time", "non_finite"])
        }
        #expect(Set(written.keys) == Set(MetricsRecord.types), "a type without an example here")
        let readme = try Self.readmeTable()
        #expect(Set(readme.keys) == Set(MetricsRecord.types))
        for type in MetricsRecord.types {
            #expect(readme[type] == written[type], "\(type): docs/metrics.md \(readme[type]?.sorted() ?? []), written \(written[type]?.sorted() ?? [])")
        }
    }

    @Test func everyRowReadsBackAsWritten() throws {
        let log = try MetricsLog(contentsOf: directory.url.appendingPathComponent("metrics.jsonl")).self
        _ = try writtenRows()
        let read = try MetricsLog(contentsOf: directory.url.appendingPathComponent("metrics.jsonl"))
        #expect(log.steps.isEmpty)  // nothing before the rows were written
        // A value that was not finite reads back as NaN (`non_finite` keeps which it was).
        var step = Self.step
        step.loss = .nan
        #expect(read.steps == [step])
        #expect(read.epochs == [Self.epoch])
        #expect(read.events.map(\.event) == Self.events)
        #expect(read.events.allSatisfy { $0.position == Self.position })
        #expect(read.malformedLines.isEmpty)
    }

    @Test func aValueThatIsNotFiniteIsNullAndNamed() throws {
        let rows = try writtenRows()
        let step = try #require(rows.first { $0["type"] as? String == "step" })
        #expect(step["loss"] is NSNull)
        #expect(step["non_finite"] as? [String: String] == ["loss": "inf"])
        let diverged = try #require(rows.first { $0["type"] as? String == "diverged" })
        #expect(diverged["non_finite"] as? [String: String] == ["loss": "nan"])
        // Paths are written as they are, not with escaped slashes.
        let text = try String(contentsOf: directory.url.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        #expect(text.contains(#""path":"/run/checkpoints/step-00000009""#))
    }

    /// A resumed run drops what was logged after its checkpoint, and nothing before it.
    @Test func truncatingKeepsTheRowsUpToTheCheckpoint() throws {
        let url = directory.url.appendingPathComponent("metrics.jsonl")
        let writer = try MetricsWriter(url: url)
        func step(_ number: Int) -> StepRecord {
            var record = Self.step
            record.step = number
            record.loss = 1
            return record
        }
        for number in 1...3 { try writer.append(step(number)) }
        try writer.append(.checkpoint(.init(path: "c3", reason: "interval")), at: .init(time: 1, epoch: 0, step: 3))
        for number in 4...5 { try writer.append(step(number)) }
        try writer.append(.checkpoint(.init(path: "c5", reason: "interval")), at: .init(time: 1, epoch: 0, step: 5))
        try writer.append(step(6))
        #expect(try writer.truncate(afterCheckpointAt: 3) == 4)
        try writer.append(step(4))
        let log = try MetricsLog(contentsOf: url)
        #expect(log.steps.map(\.step) == [1, 2, 3, 4])
        #expect(log.events.map(\.position.step) == [3])
        #expect(try writer.truncate(afterCheckpointAt: 42) == 0)  // no such checkpoint: nothing dropped
    }
}

/// TensorBoard is flushed when a checkpoint is recorded: a run killed after it (kill -9, no
/// chance to close) keeps every step up to that checkpoint there as in metrics.jsonl.
@Suite struct RunRecorderTests {
    let directory = try! TemporaryDirectory()

    @Test func aCheckpointFlushesTensorBoard() throws {
        let tensorBoard = directory.url.appendingPathComponent("tensorboard")
        let recorder = try RunRecorder(
            runDirectory: directory.url, metrics: directory.url.appendingPathComponent("metrics.jsonl"), tensorBoard: tensorBoard)
        var step = MetricsSchemaTests.step
        step.loss = 0.5
        func written() throws -> [TensorBoardEventReader.Scalar] {
            let files = try FileManager.default.contentsOfDirectory(at: tensorBoard, includingPropertiesForKeys: nil)
            return try files.flatMap { try TensorBoardEventReader.read($0).scalars }
        }
        try recorder.record(step)
        #expect(try written().isEmpty)  // still in the buffer: the flush below is what writes it
        try recorder.record(.checkpoint(.init(path: "c", reason: "interval")), at: MetricsSchemaTests.position)
        #expect(try written().contains { $0.tag == "train/loss" && $0.step == 9 && $0.value == 0.5 })
        withExtendedLifetime(recorder) {}
    }

    /// A resume from the checkpoint at step 3 writes TensorBoard's restart event at step 4:
    /// TensorBoard then drops the killed run's steps 4… that the resumed run trains again.
    @Test func aResumeMarksARestartForTensorBoard() throws {
        let tensorBoard = directory.url.appendingPathComponent("tensorboard-resume")
        let recorder = try RunRecorder(
            runDirectory: directory.url, metrics: directory.url.appendingPathComponent("metrics-resume.jsonl"), tensorBoard: tensorBoard)
        try recorder.resume(fromCheckpointAt: 3)
        recorder.close()
        let file = try #require(try FileManager.default.contentsOfDirectory(at: tensorBoard, includingPropertiesForKeys: nil).first)
        var starts: [UInt64] = []
        typealias Reader = TensorBoardEventReader
        for record in try Reader.records(Array(try Data(contentsOf: file))) {
            let fields = try Reader.fields(record)
            for case (7, .bytes(let sessionLog)) in fields {
                guard case (1, .varint(1))? = try Reader.fields(sessionLog).first.map({ ($0.number, $0.field) }) else { continue }
                for case (2, .varint(let step)) in fields { starts.append(step) }
            }
        }
        #expect(starts == [4])
    }

    /// The settings reach TensorBoard's Text tab as `tf.summary.text` writes them: a string
    /// tensor under the "text" plugin.
    @Test func theSettingsAreATextSummary() throws {
        let tensorBoard = directory.url.appendingPathComponent("tensorboard")
        let recorder = try RunRecorder(
            runDirectory: directory.url, metrics: directory.url.appendingPathComponent("metrics.jsonl"), tensorBoard: tensorBoard)
        recorder.record(settings: [("model", "resnet18, 5 classes"), ("odd", "a|b")], at: 0)
        recorder.close()
        let file = try #require(try FileManager.default.contentsOfDirectory(at: tensorBoard, includingPropertiesForKeys: nil).first)
        var texts: [(tag: String, plugin: String, text: String)] = []
        typealias Reader = TensorBoardEventReader
        for record in try Reader.records(Array(try Data(contentsOf: file))) {
            for case (5, .bytes(let summary)) in try Reader.fields(record) {
                for case (1, .bytes(let value)) in try Reader.fields(summary) {
                    var entry = (tag: "", plugin: "", text: "")
                    for (number, field) in try Reader.fields(value) {
                        guard case .bytes(let bytes) = field else { continue }
                        switch number {
                        case 1: entry.tag = String(decoding: bytes, as: UTF8.self)
                        case 8: for case (8, .bytes(let string)) in try Reader.fields(bytes) { entry.text = String(decoding: string, as: UTF8.self) }
                        case 9:
                            for case (1, .bytes(let plugin)) in try Reader.fields(bytes) {
                                for case (1, .bytes(let name)) in try Reader.fields(plugin) { entry.plugin = String(decoding: name, as: UTF8.self) }
                            }
                        default: break
                        }
                    }
                    texts.append(entry)
                }
            }
        }
        let settings = try #require(texts.first { $0.tag == "run/settings" })
        #expect(settings.plugin == "text")
        #expect(settings.text.contains("| model | resnet18, 5 classes |"))
        #expect(settings.text.contains(#"| odd | a\|b |"#))
        // The Custom Scalars layout draws the peak and the budget, in MiB, on one chart.
        let layout = try #require(texts.first { $0.tag == "custom_scalars__config__" })
        #expect(layout.plugin == "custom_scalars")
        var charted: [String] = []
        for case (2, .bytes(let category)) in try Reader.fields(Array(layout.text.utf8)) {
            for case (2, .bytes(let chart)) in try Reader.fields(category) {
                for case (2, .bytes(let multiline)) in try Reader.fields(chart) {
                    for case (1, .bytes(let tag)) in try Reader.fields(multiline) { charted.append(String(decoding: tag, as: UTF8.self)) }
                }
            }
        }
        #expect(charted == ["memory/peak_MiB", "memory/budget_MiB"])
    }
}
