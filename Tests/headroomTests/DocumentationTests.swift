import ArgumentParser
import Foundation
import Testing
@testable import headroom

/// The README and docs/ hold to the code: every relative link reaches a file (and a heading,
/// when it names one), and every option they name is one the command line takes.
@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// README.md and every page under docs/.
    static func pages() throws -> [URL] {
        let docs = root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }.sorted()
        return [root.appendingPathComponent("README.md")] + names.map { docs.appendingPathComponent($0) }
    }

    /// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens.
    static func anchor(_ heading: Substring) -> String {
        String(heading.lowercased().compactMap { character -> Character? in
            if character == " " { return "-" }
            return character.isLetter || character.isNumber || character == "-" || character == "_" ? character : nil
        })
    }

    static func anchors(in text: String) -> Set<String> {
        var inCode = false
        var anchors: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inCode.toggle() }
            guard !inCode, let title = line.firstMatch(of: /^#+ (.+)$/)?.output.1 else { continue }
            anchors.insert(anchor(title))
        }
        return anchors
    }

    @Test func everyRelativeLinkResolves() throws {
        let pages = try Self.pages()
        #expect(pages.count >= 8, "docs/ holds the reference")
        for page in pages {
            let text = try String(contentsOf: page, encoding: .utf8)
            for link in text.matches(of: /\]\(([^)\s]+)\)/).map({ String($0.output.1) }) where !link.contains("://") {
                let parts = link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let target = parts[0].isEmpty ? page : page.deletingLastPathComponent().appendingPathComponent(String(parts[0]))
                #expect(FileManager.default.fileExists(atPath: target.path), "\(page.lastPathComponent): \(link) leads nowhere")
                if parts.count == 2, let targetText = try? String(contentsOf: target, encoding: .utf8) {
                    #expect(Self.anchors(in: targetText).contains(String(parts[1])), "\(page.lastPathComponent): no heading #\(parts[1])")
                }
            }
        }
    }

    /// Options of other programs the docs mention, with the program they belong to.
    static let otherProgramsOptions: [String: String] = [
        "--nnodes": "torchrun", "--no-python": "torchrun", "--max-restarts": "torchrun", "--standalone": "torchrun",
        "--rdzv-backend": "torchrun", "--rdzv-endpoint": "torchrun", "--rdzv-id": "torchrun",
        "--scale": "timm's train.py", "--dry-run": "bench/gpu/run.sh",
        "--at": "bench/streaming.py", "--budget-gib": "bench/streaming.py", "--rung": "bench/streaming.py",
        "--repeats": "bench scripts",
        "--explicit-target-dependency-import-check": "swift build",
        "--target": "swift build",
    ]

    @Test func everyOptionTheDocsNameExists() throws {
        var known: Set<String> = []
        for command in HeadroomCommand.configuration.subcommands {
            let help = command.helpMessage(columns: 400)
            known.formUnion(help.matches(of: /--[a-z][a-z0-9-]*/).map { String($0.output) })
        }
        #expect(known.contains("--memory-budget") && known.contains("--top-k"), "the subcommands' help was read")
        for page in try Self.pages() {
            let text = try String(contentsOf: page, encoding: .utf8)
            for match in text.matches(of: /(?:^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*)/) {
                let option = String(match.output.1)
                guard Self.otherProgramsOptions[option] == nil, !ForeignOptions.table.contains(where: { $0.option == option }) else { continue }
                #expect(known.contains(option), "\(page.lastPathComponent) names \(option), which no headroom command takes")
            }
        }
    }

    /// docs/architecture.md draws every layer of the library that Sources/ holds, with what it
    /// imports: the page is the map a reader follows, so a new target must appear on it.
    @Test func theArchitecturePageDrawsEveryLayer() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let sources = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Sources").path)
        let layers = sources.filter { $0.hasPrefix("Headroom") }
        #expect(layers.count >= 9, "the layers were found: \(layers)")
        for layer in layers {
            #expect(page.contains("Sources/\(layer) "), "docs/architecture.md does not list Sources/\(layer)")
            #expect(page.contains("\(layer) ──▶"), "docs/architecture.md does not draw what \(layer) imports")
        }
    }
}
