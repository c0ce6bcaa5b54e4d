/// A TensorBoard event file that could not be created or written (a full disk, say).
public struct TensorBoardError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "cannot write TensorBoard events to \(path): \(reason)" }
}
