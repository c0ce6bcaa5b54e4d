import Foundation
import Testing

@testable import HeadroomFormats

/// The files written by `Scripts/make-statedict-fixtures.py` and what they hold.
enum StateDictFixtures {
    /// Found beside this source file rather than through a resource bundle,
    /// so the fixtures need no declaration in Package.swift.
    static func url(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: url(name))
    }

    struct Tensor: Decodable {
        let dtype: String
        let shape: [Int]
        let values: [Double]
    }

    struct StateDict: Decodable {
        let keys: [String]
        let tensors: [String: Tensor]
        let metadata: [String: String]?
    }

    struct Checkpoint: Decodable {
        let model: StateDict
        let momentumBuffer: Tensor

        enum CodingKeys: String, CodingKey {
            case model
            case momentumBuffer = "momentum_buffer"
        }
    }

    private static let expectedJSON: Data = {
        // A missing fixture is a broken checkout, not a test outcome.
        try! Data(contentsOf: url("expected.json"))
    }()

    /// The golden keys and values of a state-dict fixture.
    static func expectedStateDict(_ name: String) throws -> StateDict {
        try JSONDecoder().decode([String: StateDict].self, from: expectedJSON.filteringKeys([name]))[name]!
    }

    static func expectedCheckpoint() throws -> Checkpoint {
        let all = try JSONSerialization.jsonObject(with: expectedJSON) as! [String: Any]
        let checkpoint = try JSONSerialization.data(withJSONObject: all["checkpoint.pth"]!)
        return try JSONDecoder().decode(Checkpoint.self, from: checkpoint)
    }
}

extension Data {
    /// The top-level JSON object restricted to `keys`, so one fixture's
    /// entry decodes without the shapes of the others.
    fileprivate func filteringKeys(_ keys: Set<String>) throws -> Data {
        let all = try JSONSerialization.jsonObject(with: self) as! [String: Any]
        return try JSONSerialization.data(withJSONObject: all.filter { keys.contains($0.key) })
    }
}

/// Checks a record against its golden description: type, shape, then values.
func expectRecord(
    _ record: TensorRecord?, matches expected: StateDictFixtures.Tensor?, _ key: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let record, let expected else {
        Issue.record(
            "\(key): record \(record == nil ? "missing" : "present"), golden \(expected == nil ? "missing" : "present")",
            sourceLocation: sourceLocation)
        return
    }
    #expect(record.dtype.safeTensorsName == expected.dtype, "\(key)", sourceLocation: sourceLocation)
    #expect(record.shape == expected.shape, "\(key)", sourceLocation: sourceLocation)
    #expect(record.doubleValues() == expected.values, "\(key)", sourceLocation: sourceLocation)
}

/// Checks every record, and the key order, against a fixture's goldens.
func expectRecords(
    _ records: StateDictRecords, match expected: StateDictFixtures.StateDict,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(records.keys == expected.keys, sourceLocation: sourceLocation)
    for key in expected.keys {
        expectRecord(records[key], matches: expected.tensors[key], key, sourceLocation: sourceLocation)
    }
}
