/// Encodes the two kinds of `tensorflow.Event` a scalar log needs.
///
/// Event: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
/// summary = 5 (Summary). Summary: value = 1 (repeated Value).
/// Summary.Value: tag = 1 (string), simple_value = 2 (float).
enum TensorBoardEvent {
    /// TensorBoard reads a file only if its first record announces this version.
    static let fileVersion = "brain.Event:2"

    static func fileVersion(wallTime: Double) -> [UInt8] {
        var event = ProtobufWriter()
        event.append(field: 1, double: wallTime)
        event.append(field: 3, string: fileVersion)
        return event.bytes
    }

    static func scalar(_ value: Float, tag: String, step: Int64, wallTime: Double) -> [UInt8] {
        var summaryValue = ProtobufWriter()
        summaryValue.append(field: 1, string: tag)
        summaryValue.append(field: 2, float: value)
        var summary = ProtobufWriter()
        summary.append(field: 1, bytes: summaryValue.bytes)
        var event = ProtobufWriter()
        event.append(field: 1, double: wallTime)
        event.append(field: 2, int64: step)
        event.append(field: 5, bytes: summary.bytes)
        return event.bytes
    }
}
