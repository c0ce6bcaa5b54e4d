import Foundation
import Testing

@testable import HeadroomReporting

@Suite struct RunConfigurationTests {
    @Test func flattensNestedSettingsAndSeparatesThePlan() throws {
        let configuration = try RunConfiguration(parsing: Data(SyntheticRun.configuration(epochs: 3).utf8))
        let table = Dictionary(uniqueKeysWithValues: configuration.entries.map { ($0.key, $0.value) })
        #expect(table["model"] == "resnet18")
        #expect(table["epochs"] == "3")
        #expect(table["mixedPrecision"] == "true")
        #expect(table["optimizer.learningRate"] == "0.1")
        #expect(table["optimizer.schedule.kind"] == "cosine")
        #expect(table["data.resolutions"] == "[224, 320, 384]")
        #expect(table["resume"] == "null")
        #expect(table["plan"] == nil)
        #expect(configuration.entries.map(\.key) == configuration.entries.map(\.key).sorted())

        #expect(configuration.plan.count == 3)
        let last = try #require(configuration.plan.last)
        #expect(last.resolution == 384 && last.microBatch == 48)
        #expect(last.accumulation.effectiveBatch == 256)
        #expect(last.accumulation.steps == 6)  // ⌈256 / 48⌉
        #expect(last.budgetBytes == SyntheticRun.budget)
    }

    @Test func rejectsWhatIsNotAnObject() {
        #expect(throws: ReportError.self) { try RunConfiguration(parsing: Data("[1, 2]".utf8)) }
        #expect(throws: ReportError.self) { try RunConfiguration(parsing: Data("{".utf8)) }
        #expect(throws: ReportError.self) { try RunConfiguration(parsing: Data(#"{"plan": [{"resolution": "big"}]}"#.utf8)) }
    }
}
