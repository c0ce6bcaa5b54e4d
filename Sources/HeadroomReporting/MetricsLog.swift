public import Foundation

/// The contents of a run's metrics.jsonl, sorted into typed rows.
///
/// Reading is forgiving because the trainer may still be writing, or may have been
/// killed mid-line: a last line without its newline that does not parse is dropped
/// silently, unknown types and fields are ignored, and any other line that does not
/// parse is skipped and its number kept in `malformedLines` so a report can say so.
public struct MetricsLog: Sendable, Equatable {
    public struct TimedEvent: Sendable, Equatable {
        public var position: RunEvent.Position
        public var event: RunEvent
    }

    public var steps: [StepRecord] = []
    public var epochs: [EpochRecord] = []
    public var events: [TimedEvent] = []
    /// One-based line numbers of complete lines that could not be read.
    public var malformedLines: [Int] = []
    /// Whether the file ended in a partly written line.
    public var endsWithPartialLine = false

    public init() {}

    public init(parsing data: Data) {
        let decoder = JSONDecoder()
        let newline = UInt8(ascii: "\n")
        var lineStart = data.startIndex
        var lineNumber = 0
        while lineStart < data.endIndex {
            lineNumber += 1
            let lineEnd = data[lineStart...].firstIndex(of: newline)
            let line = data[lineStart..<(lineEnd ?? data.endIndex)]
            lineStart = lineEnd.map { data.index(after: $0) } ?? data.endIndex
            guard line.contains(where: { !Self.isWhitespace($0) }) else { continue }
            guard let record = try? decoder.decode(MetricsRecord.self, from: line) else {
                if lineEnd == nil { endsWithPartialLine = true } else { malformedLines.append(lineNumber) }
                continue
            }
            append(record)
        }
    }

    /// Reads `url`; a file that does not exist yet is an empty log.
    public init(contentsOf url: URL) throws(ReportError) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            self.init()
            return
        }
        do {
            self.init(parsing: try Data(contentsOf: url))
        } catch {
            throw .io(path: url.path, reason: error.localizedDescription)
        }
    }

    public mutating func append(_ record: MetricsRecord) {
        switch record {
        case .step(let step): steps.append(step)
        case .epoch(let epoch): epochs.append(epoch)
        case .event(let position, let event): events.append(TimedEvent(position: position, event: event))
        case .unknown: break
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }
}
