public import Foundation

/// Test fixtures live in a `Fixtures` folder beside the test file that uses them; found
/// through the source path so tests need no bundle resources.
public enum Fixtures {
    public static func url(_ name: String, besides file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    /// The fixture decoded as JSON into `T`.
    public static func json<T: Decodable>(_ name: String, as type: T.Type, besides file: String = #filePath) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(name, besides: file)))
    }
}
