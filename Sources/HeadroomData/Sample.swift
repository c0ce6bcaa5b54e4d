/// One labelled image: where it is and the index of its class.
public struct Sample: Sendable, Hashable {
    public let path: String
    public let classIndex: Int

    public init(path: String, classIndex: Int) {
        self.path = path
        self.classIndex = classIndex
    }
}
