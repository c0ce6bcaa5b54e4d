import ArgumentParser
import Testing
@testable import headroom

/// torchvision's and timm's names for options answer with Headroom's, and never shadow one of ours.
@Suite struct ForeignOptionsTests {
    static func ourOptions() -> Set<String> {
        var known: Set<String> = []
        for command in HeadroomCommand.configuration.subcommands {
            known.formUnion(command.helpMessage(columns: 400).matches(of: /--[a-z][a-z0-9-]*/).map { String($0.output) })
        }
        return known
    }

    @Test func noForeignNameIsOneOfOursAndEveryAnswerNamesOurs() {
        let ours = Self.ourOptions()
        #expect(ours.contains("--grad-clip") && ours.contains("--warmup-epochs"), "the subcommands' help was read")
        for entry in ForeignOptions.table {
            #expect(!ours.contains(entry.option), "\(entry.option) is one of ours: the table would shadow it")
            for named in entry.instead.matches(of: /--[a-z][a-z0-9-]*/).map({ String($0.output) }) {
                #expect(ours.contains(named), "\(entry.option) points at \(named), which no command takes")
            }
        }
    }

    @Test func theFirstForeignOptionIsAnswered() {
        #expect(ForeignOptions.message(for: ["train", "data", "--amp"])?.contains("--precision") == true)
        #expect(ForeignOptions.message(for: ["train", "data", "--lr-warmup-epochs=5"])?.contains("--warmup-epochs") == true)
        #expect(ForeignOptions.message(for: ["train", "data", "--epochs", "3"]) == nil)
        // After a bare "--" everything is an argument, not an option.
        #expect(ForeignOptions.message(for: ["predict", "m", "--", "--amp"]) == nil)
    }
}
