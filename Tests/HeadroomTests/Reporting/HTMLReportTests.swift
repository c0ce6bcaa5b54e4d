import Foundation
import Testing

@testable import HeadroomReporting

@Suite struct HTMLReportTests {
    static let sectionIDs = ["id=\"summary\"", "id=\"training\"", "id=\"memory\"", "id=\"validation\"", "id=\"configuration\""]

    @Test func rendersAnEmptyRun() throws {
        let directory = try SyntheticRun.outputDirectory("empty-run")
        let html = try HTMLReport.render(runDirectory: directory)
        for section in Self.sectionIDs { #expect(html.contains(section)) }
        #expect(html.contains("No metrics recorded yet"))
        #expect(html.contains("No epoch finished yet"))
        #expect(html.contains("No confusion matrix yet"))
        #expect(!html.contains("<svg class=\"chart\""))
        #expect(!html.contains("NaN"))
    }

    @Test func rendersARunWithOneEpoch() throws {
        let directory = try SyntheticRun.outputDirectory("one-epoch")
        try SyntheticRun.write(to: directory, epochs: 1, stepsPerEpoch: 5, classes: SyntheticRun.classNames(2), tornLastLine: false)
        let html = try HTMLReport.render(runDirectory: directory)
        for section in Self.sectionIDs { #expect(html.contains(section)) }
        #expect(html.contains("Best val top-1"))
        #expect(html.contains("epoch 1"))
        #expect(html.contains("<svg class=\"chart\""))
        #expect(html.contains("<svg class=\"heatmap\""))
        #expect(html.contains("id=\"per-class\""))
        #expect(html.contains("id=\"plan\""))
        #expect(!html.contains("val top-5"))  // two classes: no top-5 series
        #expect(!html.contains("NaN") && !html.contains("inf"))
        // The learning rate logged every step has its chart; step charts mark the epoch's end.
        #expect(html.contains("<h3>Learning rate</h3>"))
        #expect(html.contains("End of epoch 1 at step 5"))
    }

    /// A diverged run: a loss of 1.8e29 and losses the log holds as null (NaN). The report
    /// renders them (Int cannot hold 1.8e29; charts leave NaN out) instead of crashing.
    @Test func rendersADivergedRun() throws {
        let directory = try SyntheticRun.outputDirectory("diverged")
        try SyntheticRun.write(to: directory, epochs: 1, stepsPerEpoch: 5, classes: SyntheticRun.classNames(2), tornLastLine: false)
        let huge = #"{"type":"step","time":200,"epoch":1,"step":6,"samples":96,"loss":1.8e29,"lr":10,"micro_batch":16,"accumulation":1,"resolution":32,"peak_bytes":1000,"budget_bytes":2000,"samples_per_s":10}"#
        let null = #"{"type":"step","time":201,"epoch":1,"step":7,"samples":112,"loss":null,"non_finite":{"loss":"nan"},"lr":10,"micro_batch":16,"accumulation":1,"resolution":32,"peak_bytes":1000,"budget_bytes":2000,"samples_per_s":10}"#
        let epoch = #"{"type":"epoch","time":202,"epoch":1,"step":7,"samples":112,"train_loss":null,"train_top1":0.5,"val_loss":1.8e29,"val_top1":0.5,"val_top5":null,"epoch_seconds":2,"resolution":32,"lr":10}"#
        let handle = try FileHandle(forWritingTo: directory.appendingPathComponent("metrics.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(([huge, null, epoch].joined(separator: "\n") + "\n").utf8))
        try handle.close()
        let log = try MetricsLog(contentsOf: directory.appendingPathComponent("metrics.jsonl"))
        #expect(log.malformedLines.isEmpty && log.steps.count == 7 && log.epochs.count == 2)
        let html = try HTMLReport.render(runDirectory: directory)
        #expect(html.contains("1.800e+29"))
        #expect(html.contains("<svg class=\"chart\""))
    }

    @Test func marksEventsAndListsTheConfiguration() throws {
        let directory = try SyntheticRun.outputDirectory("events")
        try SyntheticRun.write(to: directory, epochs: 12, stepsPerEpoch: 30, classes: SyntheticRun.classNames(10))
        let html = try HTMLReport.render(runDirectory: directory)
        #expect(html.contains("Out of memory at step"))
        #expect(html.contains("micro-batch 48 → 32"))
        #expect(html.contains("Replan at step"))
        #expect(html.contains("Resolution 384 px from step"))
        #expect(html.contains("1 image was skipped"))
        #expect(html.contains("optimizer.schedule.kind"))
        #expect(html.contains("val top-5"))
        #expect(html.contains(ReportPalette.outOfMemory))
    }

    /// With the default budget (most of the machine) the peaks would be a flat line at 0 under
    /// it: the chart scales to the peaks and the legend names the budget; a budget close to
    /// the peaks is drawn.
    @Test(arguments: [(Int64(10) << 30, false), (Int64(200) << 30, true)])
    func theMemoryChartScalesToThePeaks(budget: Int64, isOffTheChart: Bool) throws {
        let directory = try SyntheticRun.outputDirectory("budget-\(budget)")
        try SyntheticRun.write(to: directory, epochs: 1, stepsPerEpoch: 1, classes: SyntheticRun.classNames(2), tornLastLine: false)
        let steps = (2...4).map { step in
            #"{"type":"step","time":\#(200 + step),"epoch":0,"step":\#(step),"samples":\#(16 * step),"loss":1,"lr":0.1,"micro_batch":16,"accumulation":1,"resolution":32,"peak_bytes":\#(8 << 30),"budget_bytes":\#(budget),"samples_per_s":10}"#
        }
        let handle = try FileHandle(forWritingTo: directory.appendingPathComponent("metrics.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((steps.joined(separator: "\n") + "\n").utf8))
        try handle.close()
        let html = try HTMLReport.render(runDirectory: directory)
        let memory = try #require(html.range(of: "Peak memory per step").map { String(html[$0.lowerBound...]) })
        #expect(memory.contains("budget 200") == isOffTheChart && memory.contains("above the chart") == isOffTheChart)
        // The y axis reaches the budget only when it is drawn.
        #expect(memory.contains(">10 GiB</text>") == !isOffTheChart)
        #expect(!memory.contains(">200 GiB</text>"))
    }

    @Test func markersAtOneStepMergeIntoOneThatListsThem() {
        let merged = SVGChart.merged([
            .init(x: 47, color: "red", label: "Out of memory: 8 → 6"), .init(x: 47, color: "red", label: "Out of memory: 6 → 4"),
            .init(x: 47, color: "blue", label: "Replan"), .init(x: 51, color: "red", label: "Out of memory: 6 → 4"),
        ])
        #expect(merged.map(\.x) == [47, 47, 51])
        #expect(merged[0].label == "2 events:\nOut of memory: 8 → 6\nOut of memory: 6 → 4")
        #expect(merged[1].label == "Replan" && merged[2].label == "Out of memory: 6 → 4")
    }

    /// The matrix shown is the best epoch's, and the card says which epoch that was.
    @Test func theConfusionMatrixSaysWhichEpochItIs() throws {
        let json = #"{"classes": ["a", "b"], "matrix": [[3, 1], [0, 4]], "epoch": 2}"#
        let matrix = try JSONDecoder().decode(ConfusionMatrix.self, from: Data(json.utf8))
        #expect(matrix.epoch == 2)
        #expect(HTMLReport.render(RunArtifacts(confusion: matrix), title: "run").contains("Confusion matrix — epoch 3, the best"))
        // Files from before the epoch was recorded still read, unlabelled.
        let older = try JSONDecoder().decode(ConfusionMatrix.self, from: Data(#"{"classes": ["a"], "matrix": [[1]]}"#.utf8))
        #expect(older.epoch == nil)
        #expect(HTMLReport.render(RunArtifacts(confusion: older), title: "run").contains("<h3>Confusion matrix</h3>"))
    }

    @Test func escapesClassNamesAndSettings() throws {
        var random = SyntheticRun.Generator(seed: 1)
        let classes = ["<script>alert(1)</script>", "a & b", "\"quoted\""]
        let matrix = try JSONDecoder().decode(
            ConfusionMatrix.self, from: Data(SyntheticRun.confusion(classes: classes, random: &random).utf8))
        let configuration = RunConfiguration(entries: [.init(key: "note", value: "<b>bold</b>")], plan: [])
        let html = HTMLReport.render(RunArtifacts(configuration: configuration, confusion: matrix), title: "<run>")
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("a &amp; b"))
        #expect(html.contains("&quot;quoted&quot;"))
        #expect(!html.contains("<b>bold</b>"))
        #expect(html.contains("<title>&lt;run&gt; · Headroom report</title>"))
    }

    @Test(arguments: [2, 10, 100])
    func confusionMatricesScaleWithTheClassCount(classCount: Int) throws {
        var random = SyntheticRun.Generator(seed: 3)
        let classes = SyntheticRun.classNames(classCount)
        let matrix = try JSONDecoder().decode(
            ConfusionMatrix.self, from: Data(SyntheticRun.confusion(classes: classes, random: &random).utf8))
        let svg = ConfusionHeatmap(matrix: matrix).render()
        // Each labelled class is named twice: on the true axis and on the predicted axis.
        let labels = (svg.components(separatedBy: "text-anchor=\"end\"><title>").count - 1) / 2
        // Small matrices label every class; large ones thin labels out and drop the counts.
        if classCount <= 10 {
            #expect(labels == classCount)
            #expect(svg.contains(">\(matrix.counts[0][0])</text>"))
        } else {
            #expect(labels < classCount && labels >= classCount / 3)
            #expect(!svg.contains("font-size=\"") || !svg.contains(">\(matrix.counts[0][0])</text>"))
        }
        #expect(svg.contains("true \(classes[0]) → predicted \(classes[0])"))
    }

    @Test func writesTheReportAtomically() throws {
        let directory = try SyntheticRun.outputDirectory("sample-run")
        try SyntheticRun.write(to: directory, epochs: 30, stepsPerEpoch: 40, classes: SyntheticRun.classNames(10))
        let url = try HTMLReport.write(runDirectory: directory)
        #expect(url.lastPathComponent == "report.html")
        let written = try String(contentsOf: url, encoding: .utf8)
        #expect(written.hasPrefix("<!doctype html>"))
        #expect(written.contains("</html>"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("report") }
        #expect(leftovers == ["report.html"])

        // The same run with a hundred classes, for looking at the large heat map.
        let large = try SyntheticRun.outputDirectory("sample-run-100")
        try SyntheticRun.write(to: large, epochs: 300, stepsPerEpoch: 20, classes: SyntheticRun.classNames(100))
        #expect(try HTMLReport.write(runDirectory: large).lastPathComponent == "report.html")
    }

    @Test func aMalformedConfusionFileIsAnError() throws {
        let directory = try SyntheticRun.outputDirectory("bad-confusion")
        try Data(#"{"classes":["a"],"matrix":[[1,2]]}"#.utf8).write(to: directory.appendingPathComponent("confusion.json"))
        #expect(throws: ReportError.self) { try HTMLReport.render(runDirectory: directory) }
    }
}

extension HTMLReportTests {
    /// Steps under a budget below the run's highest are shaded, one band per stretch.
    @Test func reducedBudgetStretchesAreShaded() throws {
        func step(_ number: Int, budget: Int) -> StepRecord {
            var record = MetricsSchemaTests.step
            record.step = number
            record.budgetBytes = budget
            return record
        }
        let full = 350 << 20, reduced = 250 << 20
        let steps = [step(1, budget: full), step(2, budget: reduced), step(3, budget: reduced), step(4, budget: full), step(5, budget: reduced)]
        let bands = ReportSections.reducedBudgetBands(steps)
        #expect(bands.map(\.from) == [1.5, 4.5] && bands.map(\.to) == [3.5, 5.5])
        #expect(bands.first?.label == "Budget 250 MiB of 350 MiB, steps 2–3")
        #expect(ReportSections.reducedBudgetBands([step(1, budget: full), step(2, budget: full)]).isEmpty)
    }
}
