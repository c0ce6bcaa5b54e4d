/// The report's sections, each a fragment of HTML built from the run.
struct ReportSections {
    let run: RunArtifacts
    let summary: RunSummary

    /// Beyond this many points a step series is thinned (see `thinned(to:by:)`).
    private static let stepPointLimit = 700

    init(run: RunArtifacts) {
        self.run = run
        summary = RunSummary(run.log)
    }

    // MARK: Header and headline numbers

    func header(title: String) -> String {
        var meta: [String] = []
        if let last = summary.lastUpdate { meta.append("Last record \(ReportFormat.date(unixTime: last))") }
        if let step = run.log.steps.last {
            meta.append("\(step.resolution) px")
            meta.append("micro-batch \(step.microBatch) × \(step.accumulation)")
        }
        var html = "<header><div class=\"eyebrow\">Headroom training report</div>"
        html += "<h1>\(HTML.escape(title))</h1>"
        html += "<p class=\"meta\">\(meta.isEmpty ? "No metrics recorded yet" : meta.map(HTML.escape).joined(separator: " · "))</p>"
        html += "</header><section class=\"summary\" id=\"summary\">"
        html += stat(
            "Best val top-1", summary.best.map { ReportFormat.percent($0.validationTop1) } ?? "—",
            detail: summary.best.map { "epoch \($0.epoch + 1)" })
        html += stat(
            "Last val loss", summary.lastValidationLoss.map(ReportFormat.decimal) ?? "—",
            detail: summary.lastValidationTop1.map { "top-1 \(ReportFormat.percent($0))" })
        html += stat("Epochs", ReportFormat.integer(summary.epochsCompleted), detail: "completed")
        html += stat("Steps", ReportFormat.integer(summary.steps), detail: "optimiser steps")
        html += stat("Samples", ReportFormat.compactCount(summary.samples), detail: "trained")
        html += stat(
            "Out of memory", ReportFormat.integer(summary.outOfMemoryCount),
            detail: "\(summary.replanCount) replan\(summary.replanCount == 1 ? "" : "s")",
            isAlert: summary.outOfMemoryCount > 0)
        html += stat("Wall time", summary.wallTime.map(ReportFormat.duration) ?? "—", detail: "first to last record")
        html += "</section>"
        html += notices()
        return html
    }

    private func stat(_ label: String, _ value: String, detail: String?, isAlert: Bool = false) -> String {
        var html = "<div class=\"stat\(isAlert ? " alert" : "")\"><div class=\"label\">\(HTML.escape(label))</div>"
        html += "<div class=\"value\">\(HTML.escape(value))</div>"
        if let detail { html += "<div class=\"detail\">\(HTML.escape(detail))</div>" }
        return html + "</div>"
    }

    private func notices() -> String {
        var notes: [String] = []
        let malformed = run.log.malformedLines
        if !malformed.isEmpty {
            let shown = malformed.prefix(5).map(String.init).joined(separator: ", ")
            notes.append(
                "\(malformed.count) line\(malformed.count == 1 ? "" : "s") of metrics.jsonl could not be read "
                    + "and \(malformed.count == 1 ? "was" : "were") skipped (line \(shown)\(malformed.count > 5 ? ", …" : "")).")
        }
        if summary.badImageCount > 0 {
            notes.append("\(summary.badImageCount) image\(summary.badImageCount == 1 ? " was" : "s were") skipped as unreadable.")
        }
        return notes.map { "<p class=\"notice\">\(HTML.escape($0))</p>" }.joined()
    }

    // MARK: Training curves

    func training() -> String {
        let epochs = run.log.epochs
        let steps = run.log.steps
        let epochAxis = ChartAxis(label: "Epoch", integerTicks: true)
        let stepAxis = ChartAxis(label: "Step", integerTicks: true)
        func perEpoch(_ value: (EpochRecord) -> Double?) -> [ChartPoint] {
            epochs.compactMap { epoch in value(epoch).map { ChartPoint(x: Double(epoch.epoch + 1), y: $0) } }
        }

        let lossPerEpoch = SVGChart(
            xAxis: epochAxis, yAxis: ChartAxis(label: "Loss"),
            series: [
                .init(name: "train", color: ReportPalette.train, points: perEpoch(\.trainLoss)),
                .init(name: "validation", color: ReportPalette.validation, points: perEpoch(\.validationLoss)),
                .init(name: "EMA validation", color: ReportPalette.average, points: perEpoch(\.averageValidationLoss), isDashed: true),
            ].filter { !$0.points.isEmpty })
        let accuracy = SVGChart(
            xAxis: epochAxis, yAxis: ChartAxis(label: "Accuracy", format: .percent, fixedDomain: 0...1),
            series: [
                .init(name: "train top-1", color: ReportPalette.train, points: perEpoch(\.trainTop1), isDashed: true),
                .init(name: "val top-1", color: ReportPalette.validation, points: perEpoch(\.validationTop1)),
                .init(name: "val top-5", color: ReportPalette.top5, points: perEpoch(\.validationTop5)),
                .init(name: "EMA val top-1", color: ReportPalette.average, points: perEpoch(\.averageValidationTop1), isDashed: true),
            ].filter { !$0.points.isEmpty })

        let rawLoss = steps.map { ChartPoint(x: Double($0.step), y: $0.loss) }.thinned(to: Self.stepPointLimit, by: .mean)
        var lossSeries: [SVGChart.Series] = [
            .init(name: "loss", color: ReportPalette.train, points: rawLoss, lineWidth: 1.2, opacity: rawLoss.count > 30 ? 0.3 : 1)
        ]
        if rawLoss.count > 30 {
            lossSeries.append(.init(name: "smoothed", color: ReportPalette.train, points: rawLoss.smoothed(weight: 0.9), showsPoints: false))
        }
        let lossPerStep = SVGChart(
            xAxis: stepAxis, yAxis: ChartAxis(label: "Loss"), series: lossSeries, markers: stepMarkers())
        let learningRate = SVGChart(
            xAxis: stepAxis, yAxis: ChartAxis(label: "Learning rate", includesZero: true),
            series: [.init(
                name: "lr", color: ReportPalette.learningRate,
                points: steps.map { ChartPoint(x: Double($0.step), y: $0.learningRate) }.thinned(to: Self.stepPointLimit, by: .mean),
                showsPoints: false)],
            markers: stepMarkers())
        let throughputPoints = steps.map { ChartPoint(x: Double($0.step), y: $0.samplesPerSecond) }
            .thinned(to: Self.stepPointLimit, by: .mean)
        let throughput = SVGChart(
            xAxis: stepAxis, yAxis: ChartAxis(label: "Samples / s", includesZero: true),
            series: [.init(name: "samples/s", color: ReportPalette.throughput, points: throughputPoints)],
            markers: stepMarkers())

        var html = "<section id=\"training\"><h2>Training</h2><div class=\"grid\">"
        html += card("Loss per epoch", chart: lossPerEpoch, isEmpty: epochs.isEmpty, emptyText: "No epoch finished yet")
        html += card("Accuracy per epoch", chart: accuracy, isEmpty: epochs.isEmpty, emptyText: "No epoch finished yet")
        html += card("Loss per step", chart: lossPerStep, isEmpty: steps.isEmpty, emptyText: "No step recorded yet")
        html += card("Learning rate", chart: learningRate, isEmpty: steps.isEmpty, emptyText: "No step recorded yet")
        html += card("Throughput", chart: throughput, isEmpty: steps.isEmpty, emptyText: "No step recorded yet")
        return html + "</div></section>"
    }

    // MARK: Memory

    /// The budget is drawn when it is at most this many times the highest peak.
    static let budgetOnChartRatio = 3.0

    func memory() -> String {
        let steps = run.log.steps
        let stepAxis = ChartAxis(label: "Step", integerTicks: true)
        let peak = steps.map { ChartPoint(x: Double($0.step), y: Double($0.peakBytes)) }
            .thinned(to: Self.stepPointLimit, by: .maximum)
        let budget = steps.map { ChartPoint(x: Double($0.step), y: Double($0.budgetBytes)) }.changePoints()
        var markers: [SVGChart.Marker] = []
        for timed in run.log.events {
            let at = "step \(timed.position.step), epoch \(timed.position.epoch + 1)"
            switch timed.event {
            case .outOfMemory(let oom):
                let requested = oom.requestedBytes.map { ", \(ReportFormat.bytes($0)) requested" } ?? ""
                markers.append(.init(
                    x: Double(timed.position.step), color: ReportPalette.outOfMemory,
                    label: "Out of memory at \(at), \(oom.resolution) px: micro-batch \(oom.microBatch) → \(oom.newMicroBatch)\(requested)"))
            case .replan(let replan):
                markers.append(.init(
                    x: Double(timed.position.step), color: ReportPalette.replan,
                    label: "Replan at \(at), \(replan.resolution) px: micro-batch \(replan.microBatch) × \(replan.accumulation), "
                        + "predicted \(ReportFormat.bytes(replan.predictedPeakBytes)), verified \(ReportFormat.bytes(replan.verifiedPeakBytes))"))
            default: break
            }
        }
        // A budget far above the peaks (the default is most of the machine) would flatten them
        // against its scale: the chart then scales to the peaks and names the budget instead.
        let peakMaximum = peak.map(\.y).max() ?? 0
        let budgetMaximum = budget.map(\.y).max() ?? 0
        let budgetOnChart = budgetMaximum <= Self.budgetOnChartRatio * peakMaximum
        let budgetLegend = budgetOnChart
            ? "budget" : "budget \(ReportFormat.bytes(Int(budgetMaximum))), above the chart"
        let memoryChart = SVGChart(
            xAxis: stepAxis, yAxis: ChartAxis(label: "Peak memory", format: .bytes, includesZero: true),
            series: [.init(name: "peak", color: ReportPalette.memory, points: peak, lineWidth: 1.6)]
                + (budgetOnChart
                    ? [.init(name: "budget", color: ReportPalette.budget, points: budget, style: .step, isDashed: true, lineWidth: 1.4)]
                    : []),
            markers: markers)

        var chart = memoryChart
        chart.bands = Self.reducedBudgetBands(steps)
        var html = "<section id=\"memory\"><h2>Memory</h2><div class=\"grid\">"
        html += card(
            "Peak memory per step", chart: chart, isEmpty: steps.isEmpty, emptyText: "No step recorded yet",
            legend: [
                ("peak", ReportPalette.memory, .line), (budgetLegend, ReportPalette.budget, .dashed),
                ("out of memory", ReportPalette.outOfMemory, .marker), ("replan", ReportPalette.replan, .marker),
            ] + (chart.bands.isEmpty ? [] : [("reduced budget", ReportPalette.outOfMemory, .band)]))
        html += settingsCard(steps)
        html += "</div>"
        html += planTable()
        return html + "</section>"
    }

    /// The stretches of steps whose budget was below the run's highest (another tenant, a
    /// resumed run's smaller --memory-budget), shaded so a slower stretch reads at a glance.
    static func reducedBudgetBands(_ steps: [StepRecord]) -> [SVGChart.Band] {
        guard let full = steps.map(\.budgetBytes).max() else { return [] }
        var bands: [SVGChart.Band] = []
        var start: StepRecord?
        var last: StepRecord?
        func close() {
            guard let first = start, let end = last else { return }
            bands.append(.init(
                from: Double(first.step) - 0.5, to: Double(end.step) + 0.5, color: ReportPalette.outOfMemory,
                label: "Budget \(ReportFormat.bytes(first.budgetBytes)) of \(ReportFormat.bytes(full)), steps \(first.step)–\(end.step)"))
            start = nil
        }
        for step in steps {
            if step.budgetBytes < full {
                if start == nil { start = step }
            } else {
                close()
            }
            last = step
        }
        if start != nil { close() }
        return bands
    }

    /// Micro-batch, accumulation and resolution as three step-line strips over one step axis.
    private func settingsCard(_ steps: [StepRecord]) -> String {
        var html = "<div class=\"card\"><div class=\"card-head\"><h3>Batch settings per step</h3>"
        html += legendHTML([
            ("micro-batch", ReportPalette.microBatch, .line), ("accumulation", ReportPalette.accumulation, .line),
            ("resolution", ReportPalette.resolution, .line),
        ])
        html += "</div>"
        guard let first = steps.first, let last = steps.last else {
            return html + "<div class=\"empty\">No step recorded yet</div></div>"
        }
        let domain = Double(first.step)...Double(max(last.step, first.step))
        let strips: [(String, String, (StepRecord) -> Int)] = [
            ("Micro-batch", ReportPalette.microBatch, \.microBatch),
            ("Accumulation", ReportPalette.accumulation, \.accumulation),
            ("Resolution", ReportPalette.resolution, \.resolution),
        ]
        html += "<div class=\"strips\">"
        for (index, (label, color, value)) in strips.enumerated() {
            let isLast = index == strips.count - 1
            let points = steps.map { ChartPoint(x: Double($0.step), y: Double(value($0))) }.changePoints()
            var chart = SVGChart(
                // One "Step" title under the last strip is enough.
                xAxis: ChartAxis(label: isLast ? "Step" : "", integerTicks: true, fixedDomain: domain),
                yAxis: ChartAxis(label: label, integerTicks: true, includesZero: true),
                series: [.init(name: label.lowercased(), color: color, points: points, style: .step)])
            // A plot tall enough for its rotated title ("Accumulation") not to be cut.
            chart.height = isLast ? 138 : 124
            chart.yTickCount = 2
            html += chart.render()
        }
        return html + "</div></div>"
    }

    private func planTable() -> String {
        guard let plan = run.configuration?.plan, !plan.isEmpty else { return "" }
        var html = "<div class=\"card\" style=\"margin-top:16px\"><div class=\"card-head\"><h3>Memory plan</h3>"
        html += "<span class=\"legend-items\">measured before training, per resolution</span></div><table id=\"plan\"><thead><tr>"
        for heading in ["Resolution", "Micro-batch", "Accumulation", "Effective batch", "Predicted peak", "Verified peak", "Budget", "Use of budget"] {
            html += "<th class=\"num\">\(heading)</th>"
        }
        html += "</tr></thead><tbody>"
        for entry in plan {
            let used = Double(entry.verifiedPeakBytes) / Double(max(entry.budgetBytes, 1))
            html += "<tr><td class=\"num\">\(entry.resolution) px</td><td class=\"num\">\(entry.microBatch)</td>"
            html += "<td class=\"num\">\(entry.accumulation.steps)</td><td class=\"num\">\(entry.accumulation.effectiveBatch)</td>"
            html += "<td class=\"num\">\(ReportFormat.bytes(entry.predictedPeakBytes))</td>"
            html += "<td class=\"num\">\(ReportFormat.bytes(entry.verifiedPeakBytes))</td>"
            html += "<td class=\"num\">\(ReportFormat.bytes(entry.budgetBytes))</td>"
            html += "<td class=\"num\">\(ReportFormat.percent(used, digits: 0))\(bar(used, color: used > 1 ? ReportPalette.outOfMemory : ReportPalette.memory))</td></tr>"
        }
        return html + "</tbody></table></div>"
    }

    // MARK: Validation

    func validation() -> String {
        var html = "<section id=\"validation\"><h2>Validation</h2>"
        guard let matrix = run.confusion else {
            return html + "<div class=\"card\"><div class=\"empty\">No confusion matrix yet (confusion.json is written after validation)</div></div></section>"
        }
        let metrics = ClassificationMetrics(matrix)
        // Which validation this is: the best epoch's, as the headline score and best checkpoint.
        let which = matrix.epoch.map { " — epoch \($0 + 1), the best" } ?? ""
        html += "<div class=\"validation\"><div class=\"card\"><div class=\"card-head\"><h3>Confusion matrix\(which)</h3>"
        html += "<span class=\"legend-items\">\(ReportFormat.integer(metrics.total)) samples · rows are true classes</span></div>"
        html += ConfusionHeatmap(matrix: matrix).render()
        html += "</div><div class=\"card\"><div class=\"card-head\"><h3>Per-class metrics</h3>"
        html += "<span class=\"legend-items\">accuracy \(ReportFormat.percent(metrics.accuracy))</span></div>"
        // Long class lists scroll inside the card, keeping the averages in reach.
        html += "<div class=\"\(metrics.classes.count > 20 ? "scroll" : "")\"><table id=\"per-class\"><thead><tr><th>Class</th><th class=\"num\">Precision</th>"
        html += "<th class=\"num\">Recall</th><th class=\"num\">F1</th><th class=\"num\">Support</th></tr></thead><tbody>"
        for scores in metrics.classes {
            html += "<tr><td>\(HTML.escape(scores.name))</td>"
            html += "<td class=\"num\">\(ReportFormat.decimal(scores.precision))</td>"
            html += "<td class=\"num\">\(ReportFormat.decimal(scores.recall))</td>"
            html += "<td class=\"num\">\(ReportFormat.decimal(scores.f1))\(bar(scores.f1, color: ReportPalette.train))</td>"
            html += "<td class=\"num\">\(ReportFormat.integer(scores.support))</td></tr>"
        }
        html += "</tbody><tfoot>"
        for (name, averages) in [("Macro average", metrics.macroAverage), ("Weighted average", metrics.weightedAverage)] {
            html += "<tr><td>\(name)</td><td class=\"num\">\(ReportFormat.decimal(averages.precision))</td>"
            html += "<td class=\"num\">\(ReportFormat.decimal(averages.recall))</td>"
            html += "<td class=\"num\">\(ReportFormat.decimal(averages.f1))\(bar(averages.f1, color: ReportPalette.train))</td>"
            html += "<td class=\"num\">\(ReportFormat.integer(metrics.total))</td></tr>"
        }
        return html + "</tfoot></table></div></div></div></section>"
    }

    // MARK: Configuration

    func configuration() -> String {
        var html = "<section id=\"configuration\"><h2>Configuration</h2><div class=\"card\">"
        guard let configuration = run.configuration, !configuration.entries.isEmpty else {
            return html + "<div class=\"empty\">No config.json in this run directory</div></div></section>"
        }
        func table(_ entries: [RunConfiguration.Entry], heading: String) -> String {
            var table = "<table class=\"config\"><thead><tr><th>\(heading)</th><th>Value</th></tr></thead><tbody>"
            for entry in entries {
                table += "<tr><td>\(HTML.escape(entry.key))</td><td>\(HTML.escape(entry.value))</td></tr>"
            }
            return table + "</tbody></table>"
        }
        // The flags a user types, with units; every field of config.json one click away.
        guard !configuration.commandLine.isEmpty else { return html + table(configuration.entries, heading: "Setting") + "</div></section>" }
        html += table(configuration.commandLine, heading: "Option")
        html += "<details><summary>Every field of config.json</summary>\(table(configuration.entries, heading: "Field"))</details>"
        return html + "</div></section>"
    }

    // MARK: Pieces

    private enum SwatchStyle { case line, dashed, marker, band }

    /// What step charts mark: each epoch's end (faint) and each resolution stage.
    private func stepMarkers() -> [SVGChart.Marker] {
        let epochEnds = run.log.epochs.map { epoch in
            SVGChart.Marker(x: Double(epoch.step), color: ReportPalette.epoch, label: "End of epoch \(epoch.epoch + 1) at step \(epoch.step)")
        }
        let stages = run.log.events.compactMap { timed -> SVGChart.Marker? in
            guard case .stage(let stage) = timed.event else { return nil }
            return .init(
                x: Double(timed.position.step), color: ReportPalette.stage,
                label: "Resolution \(stage.resolution) px from step \(timed.position.step)")
        }
        return epochEnds + stages
    }

    private func card(
        _ title: String, chart: SVGChart, isEmpty: Bool, emptyText: String,
        legend: [(String, String, SwatchStyle)]? = nil
    ) -> String {
        let items = legend ?? chart.series.map { ($0.name, $0.color, $0.isDashed ? .dashed : .line) }
        var html = "<div class=\"card\"><div class=\"card-head\"><h3>\(HTML.escape(title))</h3>"
        html += legendHTML(isEmpty ? [] : items) + "</div>"
        html += isEmpty ? "<div class=\"empty\">\(HTML.escape(emptyText))</div>" : chart.render()
        return html + "</div>"
    }

    private func legendHTML(_ items: [(String, String, SwatchStyle)]) -> String {
        var html = "<div class=\"legend-items\">"
        for (name, color, style) in items {
            let kind = switch style {
            case .line: ""
            case .dashed: " dashed"
            case .marker: " mark"
            case .band: " band"
            }
            html += "<span><i class=\"swatch\(kind)\" style=\"border-color:\(color)\"></i>\(HTML.escape(name))</span>"
        }
        return html + "</div>"
    }

    private func bar(_ fraction: Double, color: String) -> String {
        let width = Int((min(max(fraction, 0), 1) * 100).rounded())
        return "<span class=\"bar-track\"><span class=\"fill\" style=\"width:\(width)%;background:\(color)\"></span></span>"
    }
}
