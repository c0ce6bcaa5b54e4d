/// Encodes the kinds of `tensorflow.Event` Headroom writes: the version, scalars and text.
///
/// Event: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
/// summary = 5 (Summary). Summary: value = 1 (repeated Value).
/// Summary.Value: tag = 1 (string), simple_value = 2 (float), tensor = 8 (TensorProto),
/// metadata = 9 (SummaryMetadata: plugin_data = 1 (PluginData: plugin_name = 1)).
/// TensorProto: dtype = 1 (DT_STRING = 7), tensor_shape = 2 (empty: a scalar), string_val = 8.
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
        return event(summaryValue, step: step, wallTime: wallTime)
    }

    /// A restart at `step` (Event.session_log = 7, SessionLog.status = 1, START = 1): TensorBoard
    /// drops every event it has read at this step or later, so a resumed run's re-trained steps
    /// replace, rather than double, those the killed run wrote after its checkpoint.
    static func sessionStart(step: Int64, wallTime: Double) -> [UInt8] {
        var event = ProtobufWriter()
        event.append(field: 1, double: wallTime)
        event.append(field: 2, int64: step)
        event.append(field: 7) { $0.append(field: 1, int64: 1) }
        return event.bytes
    }

    /// Markdown for TensorBoard's Text tab, as `tf.summary.text` writes it.
    static func text(_ markdown: String, tag: String, step: Int64, wallTime: Double) -> [UInt8] {
        stringTensor(Array(markdown.utf8), tag: tag, plugin: "text", step: step, wallTime: wallTime)
    }

    /// The Custom Scalars tab's layout: charts that draw several scalar tags together, as
    /// `custom_scalar.summary.pb` writes it. Layout: category = 2 (Category: title = 1,
    /// chart = 2 (Chart: title = 1, multiline = 2 (MultilineChartContent: tag = 1))).
    static func customScalarsLayout(
        _ categories: [(category: String, charts: [(title: String, tags: [String])])], wallTime: Double
    ) -> [UInt8] {
        var layout = ProtobufWriter()
        for (title, charts) in categories {
            layout.append(field: 2) { category in
                category.append(field: 1, string: title)
                for chart in charts {
                    category.append(field: 2) { proto in
                        proto.append(field: 1, string: chart.title)
                        proto.append(field: 2) { multiline in
                            for tag in chart.tags { multiline.append(field: 1, string: tag) }
                        }
                    }
                }
            }
        }
        return stringTensor(layout.bytes, tag: "custom_scalars__config__", plugin: "custom_scalars", step: 0, wallTime: wallTime)
    }

    /// A summary value holding one string for `plugin`.
    private static func stringTensor(_ bytes: [UInt8], tag: String, plugin: String, step: Int64, wallTime: Double) -> [UInt8] {
        var pluginData = ProtobufWriter()
        pluginData.append(field: 1, string: plugin)
        var metadata = ProtobufWriter()
        metadata.append(field: 1, bytes: pluginData.bytes)
        var tensor = ProtobufWriter()
        tensor.append(field: 1, int64: 7)
        tensor.append(field: 2, bytes: [])
        tensor.append(field: 8, bytes: bytes)
        var summaryValue = ProtobufWriter()
        summaryValue.append(field: 1, string: tag)
        summaryValue.append(field: 8, bytes: tensor.bytes)
        summaryValue.append(field: 9, bytes: metadata.bytes)
        return event(summaryValue, step: step, wallTime: wallTime)
    }

    private static func event(_ summaryValue: ProtobufWriter, step: Int64, wallTime: Double) -> [UInt8] {
        var summary = ProtobufWriter()
        summary.append(field: 1, bytes: summaryValue.bytes)
        var event = ProtobufWriter()
        event.append(field: 1, double: wallTime)
        event.append(field: 2, int64: step)
        event.append(field: 5, bytes: summary.bytes)
        return event.bytes
    }
}
