import Foundation
import Testing

@testable import HeadroomFormats

/// A corrupted safetensors file and the words its error must contain.
struct CorruptFile: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let contents: Data
    let reason: String

    /// A file with `header` as its JSON and `bufferSize` zero bytes of data.
    init(_ description: String, header: String, bufferSize: Int = 0, reason: String) {
        var contents = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { contents.append(contentsOf: $0) }
        contents.append(contentsOf: header.utf8)
        contents.append(Data(count: bufferSize))
        self.init(description, contents: contents, reason: reason)
    }

    init(_ description: String, contents: Data, reason: String) {
        testDescription = description
        self.contents = contents
        self.reason = reason
    }

    static func tensor(_ name: String, _ dtype: String = "F32", shape: String = "[2]", offsets: String) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    static let all: [CorruptFile] = [
        CorruptFile("empty file", contents: Data(), reason: "fewer than the 8-byte header length"),
        CorruptFile("seven bytes", contents: Data(count: 7), reason: "fewer than the 8-byte header length"),
        CorruptFile(
            "header length past the end", contents: Data([100, 0, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8),
            reason: "runs past the end"),
        CorruptFile(
            "header length over 100 MB", contents: Data([0, 0, 0, 0, 0, 1, 0, 0]) + Data("{}".utf8),
            reason: "exceeds the 100 MB limit"),
        CorruptFile("header not an object", header: "[1, 2]", reason: "does not start with '{'"),
        CorruptFile("invalid JSON", header: "{\"a\":", reason: "the JSON header is invalid"),
        CorruptFile("trailing text", header: "{} x", reason: "unexpected text after the value"),
        CorruptFile("bad escape", header: "{\"\\q\":{}}", reason: "invalid escape"),
        CorruptFile(
            "duplicate key", header: "{\(tensor("a", offsets: "[0,8]")),\(tensor("a", offsets: "[0,8]"))}",
            bufferSize: 8, reason: "duplicate key \"a\""),
        CorruptFile(
            "wrong dtype name", header: "{\(tensor("a", "F33", offsets: "[0,8]"))}", bufferSize: 8,
            reason: "unknown dtype \"F33\""),
        CorruptFile(
            "unsupported dtype", header: "{\(tensor("a", "U16", offsets: "[0,4]"))}", bufferSize: 4,
            reason: "has dtype U16"),
        CorruptFile(
            "negative size", header: "{\(tensor("a", shape: "[-2]", offsets: "[0,8]"))}", bufferSize: 8,
            reason: "non-negative integer"),
        CorruptFile(
            "fractional size", header: "{\(tensor("a", shape: "[2.0]", offsets: "[0,8]"))}", bufferSize: 8,
            reason: "non-negative integer"),
        CorruptFile(
            "huge size", header: "{\(tensor("a", shape: "[99999999999999999999]", offsets: "[0,8]"))}",
            bufferSize: 8, reason: "non-negative integer"),
        CorruptFile(
            "overflowing shape", header: "{\(tensor("a", shape: "[4294967296,4294967296]", offsets: "[0,8]"))}",
            bufferSize: 8, reason: "too large"),
        CorruptFile(
            "three offsets", header: "{\(tensor("a", offsets: "[0,4,8]"))}", bufferSize: 8, reason: "[begin, end]"),
        CorruptFile(
            "reversed offsets", header: "{\(tensor("a", offsets: "[8,0]"))}", bufferSize: 8, reason: "begin ≤ end"),
        CorruptFile(
            "size mismatch", header: "{\(tensor("a", offsets: "[0,12]"))}", bufferSize: 12, reason: "needs 8 bytes"),
        CorruptFile(
            "missing field", header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", bufferSize: 8,
            reason: "no data_offsets"),
        CorruptFile(
            "overlapping offsets", header: "{\(tensor("a", offsets: "[0,8]")),\(tensor("b", offsets: "[4,12]"))}",
            bufferSize: 12, reason: "overlap"),
        CorruptFile(
            "gap between tensors", header: "{\(tensor("a", offsets: "[0,8]")),\(tensor("b", offsets: "[12,20]"))}",
            bufferSize: 20, reason: "data bytes 8..<12 belong to no tensor"),
        CorruptFile(
            "offsets out of bounds", header: "{\(tensor("a", offsets: "[0,8]"))}", bufferSize: 4,
            reason: "ends at data byte 8"),
        CorruptFile(
            "uncovered tail", header: "{\(tensor("a", offsets: "[0,8]"))}", bufferSize: 9,
            reason: "data bytes 8..<9 belong to no tensor"),
        CorruptFile("metadata not an object", header: "{\"__metadata__\":[]}", reason: "__metadata__ is not an object"),
        CorruptFile(
            "metadata value not a string", header: "{\"__metadata__\":{\"epoch\":3}}",
            reason: "value for \"epoch\" is not a string"),
        CorruptFile(
            "deep nesting",
            header: "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}",
            reason: "nesting too deep"),
    ]
}

@Suite("safetensors validation")
struct SafeTensorsValidationTests {
    @Test(arguments: CorruptFile.all)
    func refusesCorruptFiles(_ file: CorruptFile) throws {
        let error = try #require(throws: StateDictError.self) {
            try SafeTensorsFile(contents: file.contents, path: "bad.safetensors")
        }
        #expect(error.path == "bad.safetensors")
        #expect(error.reason.contains(file.reason), "\(error)")
    }

    @Test func everyTruncationIsAnError() throws {
        let whole = try StateDictFixtures.data("metadata.safetensors")
        for length in 0..<whole.count {
            #expect(throws: StateDictError.self, "length \(length)") {
                try SafeTensorsFile(contents: whole.prefix(length), path: "cut.safetensors")
            }
        }
    }

    @Test func headerMayBePaddedWithSpacesAndHoldUnicodeEscapes() throws {
        let header = "{\"caf\\u00e9 \\ud834\\udd1e\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}   "
        let file = try SafeTensorsFile(
            contents: CorruptFile("", header: header, bufferSize: 1, reason: "").contents, path: "ok")
        #expect(file.names == ["café 𝄞"])
    }
}
