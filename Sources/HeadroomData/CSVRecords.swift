/// An RFC 4180 reader for the small CSV files that list datasets.
enum CSVRecords {
    struct Record: Equatable {
        /// The line on which the record starts, from 1.
        let line: Int
        let fields: [String]
    }

    /// Splits `text` into records; `source` names the file in errors.
    static func parse(_ text: String, source: String) throws(DatasetError) -> [Record] {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // a byte-order mark from spreadsheet exports

        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var isQuoted = false       // the current field began with a quote
        var isInsideQuotes = false
        var line = 1
        var recordLine = 1

        func endField() {
            fields.append(isQuoted ? String(decoding: field, as: UTF8.self) : trimmed(field))
            field.removeAll(keepingCapacity: true)
            isQuoted = false
        }
        func endRecord() {
            endField()
            let isBlank = fields.count == 1 && fields[0].isEmpty
            if !isBlank { records.append(Record(line: recordLine, fields: fields)) }
            fields.removeAll()
        }
        func failure(_ reason: String) -> DatasetError {
            .invalidManifestLine(path: source, line: line, reason: reason)
        }

        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if isInsideQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        isInsideQuotes = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard !isQuoted, field.allSatisfy(isBlank) else {
                    throw failure("a quote inside an unquoted field; enclose the whole field in quotes and double inner quotes")
                }
                field.removeAll(keepingCapacity: true)
                isQuoted = true
                isInsideQuotes = true
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                if byte == UInt8(ascii: "\r") && index < bytes.count && bytes[index] == UInt8(ascii: "\n") { index += 1 }
                endRecord()
                line += 1
                recordLine = line
            default:
                guard !isQuoted || isBlank(byte) else { throw failure("text after a closing quote") }
                if !isQuoted { field.append(byte) }
            }
        }
        guard !isInsideQuotes else {
            throw .invalidManifestLine(path: source, line: recordLine, reason: "a quoted field is never closed")
        }
        if !field.isEmpty || !fields.isEmpty || isQuoted { endRecord() }
        return records
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    private static func trimmed(_ field: [UInt8]) -> String {
        guard let first = field.firstIndex(where: { !isBlank($0) }), let last = field.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(decoding: field[first ... last], as: UTF8.self)
    }
}
