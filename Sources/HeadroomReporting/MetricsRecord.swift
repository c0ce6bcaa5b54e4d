/// One line of metrics.jsonl, told apart by its `type` field.
public enum MetricsRecord: Sendable, Equatable {
    case step(StepRecord)
    case epoch(EpochRecord)
    case event(RunEvent.Position, RunEvent)
    /// A type this version does not know; newer trainers may write more.
    case unknown(type: String)

    /// Every `type` this version writes and reads.
    public static let types = ["step", "epoch", "oom", "replan", "checkpoint", "bad_image", "stage", "diverged", "resume"]
}

extension MetricsRecord: Decodable {
    private enum CodingKeys: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .type)
        func event(_ make: (any Decoder) throws -> RunEvent) throws -> MetricsRecord {
            .event(try RunEvent.Position(from: decoder), try make(decoder))
        }
        switch type {
        case "step": self = .step(try StepRecord(from: decoder))
        case "epoch": self = .epoch(try EpochRecord(from: decoder))
        case "oom": self = try event { .outOfMemory(try .init(from: $0)) }
        case "replan": self = try event { .replan(try .init(from: $0)) }
        case "checkpoint": self = try event { .checkpoint(try .init(from: $0)) }
        case "bad_image": self = try event { .badImage(try .init(from: $0)) }
        case "stage": self = try event { .stage(try .init(from: $0)) }
        case "diverged": self = try event { .diverged(try .init(from: $0)) }
        case "resume": self = try event { .resumed(try .init(from: $0)) }
        default: self = .unknown(type: type)
        }
    }
}
