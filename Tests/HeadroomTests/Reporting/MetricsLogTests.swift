import Foundation
import Testing

@testable import HeadroomReporting

@Suite struct MetricsLogTests {
    static let step = #"{"type":"step","time":100.5,"epoch":0,"step":1,"samples":64,"loss":2.25,"lr":0.1,"micro_batch":32,"accumulation":2,"resolution":224,"peak_bytes":1000,"budget_bytes":2000,"samples_per_s":512.5}"#
    static let epoch = #"{"type":"epoch","time":110,"epoch":0,"step":4,"samples":256,"train_loss":1.5,"train_top1":0.4,"val_loss":1.25,"val_top1":0.5,"val_top5":null,"epoch_seconds":9.5,"resolution":224,"lr":0.1}"#

    @Test func readsEveryKnownRowType() throws {
        let text = [
            Self.step, Self.epoch,
            #"{"type":"oom","time":101,"epoch":0,"step":2,"resolution":224,"micro_batch":32,"new_micro_batch":16,"requested_bytes":null}"#,
            #"{"type":"replan","time":102,"epoch":0,"step":3,"resolution":224,"micro_batch":24,"accumulation":3,"predicted_peak_bytes":900,"verified_peak_bytes":950,"budget_bytes":2000}"#,
            #"{"type":"checkpoint","time":110,"epoch":0,"step":4,"path":"c.safetensors","reason":"best"}"#,
            #"{"type":"bad_image","time":103,"epoch":0,"step":3,"path":"x.jpg","reason":"not a JPEG"}"#,
            #"{"type":"stage","time":111,"epoch":1,"step":4,"resolution":320}"#,
        ].joined(separator: "\n") + "\n"
        let log = MetricsLog(parsing: Data(text.utf8))
        let step = try #require(log.steps.first)
        #expect(step.loss == 2.25 && step.microBatch == 32 && step.samplesPerSecond == 512.5 && step.learningRate == 0.1)
        let epoch = try #require(log.epochs.first)
        #expect(epoch.validationTop5 == nil)
        #expect(epoch.validationTop1 == 0.5 && epoch.epochSeconds == 9.5)
        #expect(log.events.count == 5)
        #expect(log.events[0].event == .outOfMemory(.init(resolution: 224, microBatch: 32, newMicroBatch: 16, requestedBytes: nil, activationCheckpointing: nil)))
        #expect(log.events[0].position == .init(time: 101, epoch: 0, step: 2))
        #expect(log.events[1].event == .replan(.init(resolution: 224, microBatch: 24, accumulation: 3, predictedPeakBytes: 900, verifiedPeakBytes: 950, budgetBytes: 2000, activationCheckpointing: nil, recomputeOverhead: nil, uncheckpointedMicroBatch: nil)))
        #expect(log.events[2].event == .checkpoint(.init(path: "c.safetensors", reason: "best")))
        #expect(log.events[3].event == .badImage(.init(path: "x.jpg", reason: "not a JPEG", split: nil)))
        #expect(log.events[4].event == .stage(.init(resolution: 320)))
        #expect(log.malformedLines.isEmpty && !log.endsWithPartialLine)
    }

    @Test func ignoresUnknownFieldsAndTypes() throws {
        let withExtra = Self.step.replacingOccurrences(of: "}", with: #","grad_norm":3.5,"nested":{"a":[1,2]}}"#)
        let text = withExtra + "\n" + #"{"type":"histogram","time":1,"bins":[1,2]}"# + "\n"
        let log = MetricsLog(parsing: Data(text.utf8))
        #expect(log.steps.count == 1)
        #expect(log.steps.first?.loss == 2.25)
        #expect(log.epochs.isEmpty && log.events.isEmpty)
        #expect(log.malformedLines.isEmpty)
    }

    @Test func skipsATruncatedLastLine() {
        let torn = String(Self.step.prefix(60))
        let log = MetricsLog(parsing: Data((Self.step + "\n" + Self.epoch + "\n" + torn).utf8))
        #expect(log.steps.count == 1)
        #expect(log.epochs.count == 1)
        #expect(log.endsWithPartialLine)
        #expect(log.malformedLines.isEmpty)
    }

    @Test func acceptsACompleteLastLineWithoutNewline() {
        let log = MetricsLog(parsing: Data((Self.step + "\n" + Self.epoch).utf8))
        #expect(log.epochs.count == 1)
        #expect(!log.endsWithPartialLine)
    }

    @Test func reportsMalformedLinesInTheMiddleAndKeepsGoing() {
        let missingLoss = Self.step.replacingOccurrences(of: #""loss":2.25,"#, with: "")
        let text = [Self.step, "not json", missingLoss, "", Self.epoch].joined(separator: "\n") + "\n"
        let log = MetricsLog(parsing: Data(text.utf8))
        #expect(log.malformedLines == [2, 3])
        #expect(log.steps.count == 1)
        #expect(log.epochs.count == 1)
    }

    @Test func aMissingFileIsAnEmptyLog() throws {
        let log = try MetricsLog(contentsOf: URL(fileURLWithPath: "/nonexistent/metrics.jsonl"))
        #expect(log == MetricsLog())
    }

    @Test func summarisesARun() throws {
        let directory = try SyntheticRun.outputDirectory("summary")
        try SyntheticRun.write(to: directory, epochs: 6, stepsPerEpoch: 9, classes: SyntheticRun.classNames(4))
        let log = try MetricsLog(contentsOf: directory.appendingPathComponent("metrics.jsonl"))
        let summary = RunSummary(log)
        #expect(summary.epochsCompleted == 6)
        #expect(summary.steps == 54)
        #expect(summary.samples == 54 * SyntheticRun.effectiveBatch)
        #expect(summary.outOfMemoryCount == 1)
        #expect(summary.replanCount == 1)
        #expect(summary.badImageCount == 1)
        let best = try #require(summary.best)
        #expect(best.validationTop1 == log.epochs.map(\.validationTop1).max())
        #expect(log.epochs[best.epoch].validationTop1 == best.validationTop1)
        #expect(log.epochs.allSatisfy { $0.validationTop5 == nil })  // four classes: no top-5
        #expect(log.endsWithPartialLine)
    }
}
