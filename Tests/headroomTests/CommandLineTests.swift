import ArgumentParser
import Testing
@testable import headroom

@Suite struct CommandLineTests {
    @Test func demoRejectsAbsurdOptions() {
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["demo", "--epochs", "0"]) }
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["demo", "--memory-budget", "lots"]) }
    }

    @Test func subcommandsParse() throws {
        let demo = try #require(try HeadroomCommand.parseAsRoot(["demo", "--epochs", "3"]) as? Demo)
        #expect(demo.epochs == 3)
        #expect(try HeadroomCommand.parseAsRoot(["doctor"]) is Doctor)
    }

    @Test func versionNamesLibtorch() {
        #expect(HeadroomCommand.configuration.version.contains("libtorch 2.11.0"))
    }
}
