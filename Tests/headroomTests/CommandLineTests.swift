import ArgumentParser
import Testing
@testable import headroom

@Suite struct CommandLineTests {
    @Test func demoRejectsAbsurdStepCounts() {
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["demo", "--steps", "0"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["demo", "--steps", "many"]) }
    }

    @Test func subcommandsParse() throws {
        let demo = try #require(try HeadroomCommand.parseAsRoot(["demo", "--steps", "3"]) as? Demo)
        #expect(demo.steps == 3)
        #expect(try HeadroomCommand.parseAsRoot(["doctor"]) is Doctor)
    }

    @Test func versionNamesLibtorch() {
        #expect(HeadroomCommand.configuration.version.contains("libtorch 2.11.0"))
    }
}
