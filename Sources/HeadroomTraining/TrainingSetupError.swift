/// The configuration cannot be used; each problem says what to change.
public struct TrainingSetupError: Error, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}
