import Foundation
import Testing

/// The folders of Sources/Headroom depend one way: Execution (what a step runs on) below
/// Memory, Memory below Training, and Inference beside Training, using neither Training nor
/// Memory. Checked by name: a type declared in a higher folder may not be named, outside
/// comments, in a lower one.
@Suite struct LayeringTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Headroom")

    /// (folder, folders whose types it may not name)
    static let rules: [(String, [String])] = [
        ("Execution", ["Memory", "Training", "Inference", "Distributed", "Reporting"]),
        ("Memory", ["Training", "Inference", "Distributed", "Reporting"]),
        ("Models", ["Execution", "Memory", "Training", "Inference", "Distributed", "Reporting"]),
        ("Data", ["Memory", "Training", "Inference", "Distributed", "Reporting"]),
        ("Inference", ["Memory", "Training", "Distributed"]),
        ("Reporting", ["Training", "Distributed"]),
    ]

    static func swiftFiles(in folder: String) throws -> [URL] {
        let root = sources.appendingPathComponent(folder)
        let enumerator = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        return enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    /// The code of a file without its comments and string literals' contents.
    static func code(of file: URL) throws -> String {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map { line -> String in
            let text = line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line)
            return text.replacingOccurrences(of: #""[^"]*""#, with: "\"\"", options: .regularExpression)
        }.joined(separator: "\n")
    }

    /// The top-level type names a folder declares.
    static func declaredTypes(in folder: String) throws -> Set<String> {
        var names = Set<String>()
        let declaration = try Regex(#"^(?:public |internal |fileprivate |private |final )*(?:class|struct|enum|protocol|actor|typealias) ([A-Z]\w*)"#)
            .anchorsMatchLineEndings()
        for file in try swiftFiles(in: folder) {
            for match in try code(of: file).matches(of: declaration) {
                if let name = match.output[1].substring { names.insert(String(name)) }
            }
        }
        return names
    }

    @Test func lowerFoldersDoNotNameTypesOfHigherOnes() throws {
        var violations: [String] = []
        for (folder, forbidden) in Self.rules {
            let names = try forbidden.reduce(into: Set<String>()) { $0.formUnion(try Self.declaredTypes(in: $1)) }
            for file in try Self.swiftFiles(in: folder) {
                let code = try Self.code(of: file)
                for name in names where code.contains(try Regex("\\b\(name)\\b")) {
                    violations.append("\(folder)/\(file.lastPathComponent) names \(name)")
                }
            }
        }
        #expect(violations.isEmpty, "\(violations.sorted().joined(separator: "\n"))")
    }

    /// The check itself sees a dependency: Training names Memory's types.
    @Test func theCheckFindsARealDependency() throws {
        let memoryTypes = try Self.declaredTypes(in: "Memory")
        #expect(memoryTypes.contains("MemoryController") && memoryTypes.contains("BatchPlanner"))
        let trainer = try Self.code(of: Self.sources.appendingPathComponent("Training/Trainer.swift"))
        #expect(trainer.contains(try Regex("\\bMemoryController\\b")))
    }

    /// One owner sets the device's memory budget.
    @Test func oneOwnerSetsTheDeviceBudget() throws {
        var setters: [String] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: Self.sources.path) where !folder.hasSuffix(".swift") {
            for file in try Self.swiftFiles(in: folder) where try Self.code(of: file).contains("setMemoryBudget") {
                setters.append("\(folder)/\(file.lastPathComponent)")
            }
        }
        #expect(setters == ["Memory/MemoryController.swift"])
    }
}
