/// Progressive resizing: "256:3,384:3,512" trains 3 epochs at 256 px, 3 at 384, then 512
/// for the rest. Each stage is re-planned for memory when it starts.
public struct ResizeSchedule: Sendable, Codable, Equatable, CustomStringConvertible {
    public struct Stage: Sendable, Codable, Equatable {
        public var size: Int
        /// Epochs at this size; nil for the last stage, which runs to the end.
        public var epochs: Int?
    }

    public var stages: [Stage]
    /// The resolution validation runs at: the one given, else the last epoch's.
    public static func validationResolution(given: Int?, imageSize: Int, epochs: Int, schedule: ResizeSchedule?) -> Int {
        given ?? schedule?.resolution(forEpoch: max(0, epochs - 1)) ?? imageSize
    }

    /// Parses "SIZE:EPOCHS,…,SIZE"; only the last stage may omit its epoch count.
    public init?(parsing text: String) {
        var stages: [Stage] = []
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard let size = Int(fields[0].trimmingWhitespace()), size > 0 else { return nil }
            switch fields.count {
            case 1 where index == parts.count - 1:
                stages.append(Stage(size: size, epochs: nil))
            case 2:
                guard let epochs = Int(fields[1].trimmingWhitespace()), epochs > 0 else { return nil }
                stages.append(Stage(size: size, epochs: epochs))
            default:
                return nil
            }
        }
        guard !stages.isEmpty else { return nil }
        self.stages = stages
    }

    /// All sizes in the schedule, in order.
    public var sizes: [Int] { stages.map(\.size) }

    /// The resolution of a (0-based) epoch: the stage it falls in, the last one past the end.
    public func resolution(forEpoch epoch: Int) -> Int {
        var start = 0
        for stage in stages {
            guard let length = stage.epochs else { return stage.size }
            if epoch < start + length { return stage.size }
            start += length
        }
        return stages[stages.count - 1].size
    }

    public var description: String {
        stages.map { stage in stage.epochs.map { "\(stage.size):\($0)" } ?? "\(stage.size)" }.joined(separator: ",")
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var text = self
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
