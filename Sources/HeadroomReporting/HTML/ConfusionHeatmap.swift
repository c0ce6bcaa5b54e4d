import Foundation

/// The confusion matrix as an SVG heat map: rows are true classes, columns predictions,
/// colour is the share of the row (so rare classes read as clearly as common ones).
/// Cells shrink with the class count; labels thin out, and counts disappear, when they
/// would no longer fit, and every cell keeps a tooltip.
struct ConfusionHeatmap {
    let matrix: ConfusionMatrix
    /// The side of the cell grid, in pixels, when classes are many.
    var gridSize = 560.0

    private static let labelCharacters = 18
    private static let minimumLabelFont = 9.0

    func render() -> String {
        let count = matrix.classCount
        guard count > 0 else { return "" }
        let cell = min(72, gridSize / Double(count))
        let labelFont = min(12, max(Self.minimumLabelFont, cell * 0.7))
        // Label every k-th class so labels never overlap.
        let labelEvery = Int((labelFont * 1.25 / cell).rounded(.up))
        let labels = matrix.classes.map { HTML.truncated($0, to: Self.labelCharacters) }
        let labelWidth = Double(labels.map(\.count).max() ?? 1) * labelFont * 0.6
        let left = 30 + labelWidth + 8
        let top = 10.0
        let grid = cell * Double(count)
        let bottom = 30 + labelWidth * 0.72 + 14
        let legendWidth = 70.0
        let width = left + grid + 24 + legendWidth
        let height = top + grid + bottom
        let countFont = min(13, cell * 0.36)
        let rowTotals = matrix.classes.indices.map { matrix.support(ofClass: $0) }
        let largest = matrix.counts.joined().max() ?? 0
        let showsCounts = countFont >= 8 && Double(String(largest).count) * countFont * 0.62 <= cell - 4

        func position(_ index: Int) -> Double { Double(index) * cell }
        var svg = "<svg class=\"heatmap\" viewBox=\"0 0 \(HTML.coordinate(width)) \(HTML.coordinate(height))\" "
        svg += "style=\"max-width:\(HTML.coordinate(width))px\" role=\"img\" aria-label=\"Confusion matrix\">"
        svg += "<g transform=\"translate(\(HTML.coordinate(left)) \(HTML.coordinate(top)))\">"
        svg += "<rect width=\"\(HTML.coordinate(grid))\" height=\"\(HTML.coordinate(grid))\" fill=\"\(Self.color(0))\"/>"
        // Only non-zero cells are drawn: a 100-class matrix is mostly zeros.
        for row in 0..<count {
            for column in 0..<count where matrix.counts[row][column] > 0 {
                let value = matrix.counts[row][column]
                let share = rowTotals[row] > 0 ? Double(value) / Double(rowTotals[row]) : 0
                let tip = "true \(matrix.classes[row]) → predicted \(matrix.classes[column]): "
                    + "\(ReportFormat.integer(value)) (\(ReportFormat.percent(share)) of \(matrix.classes[row]))"
                svg += "<g class=\"cell\"><title>\(HTML.escape(tip))</title>"
                svg += "<rect x=\"\(HTML.coordinate(position(column)))\" y=\"\(HTML.coordinate(position(row)))\" "
                svg += "width=\"\(HTML.coordinate(cell))\" height=\"\(HTML.coordinate(cell))\" fill=\"\(Self.color(share))\"/>"
                if showsCounts {
                    svg += "<text x=\"\(HTML.coordinate(position(column) + cell / 2))\" "
                    svg += "y=\"\(HTML.coordinate(position(row) + cell / 2))\" dy=\"0.35em\" text-anchor=\"middle\" "
                    svg += "font-size=\"\(HTML.coordinate(countFont))\" fill=\"\(share > 0.45 ? "#ffffff" : "#1e293b")\">"
                    svg += "\(value)</text>"
                }
                svg += "</g>"
            }
        }
        if cell >= 6 {
            svg += "<g class=\"cell-grid\">"
            for index in 1..<max(count, 1) {
                let at = HTML.coordinate(position(index))
                svg += "<line x1=\"\(at)\" x2=\"\(at)\" y1=\"0\" y2=\"\(HTML.coordinate(grid))\"/>"
                svg += "<line y1=\"\(at)\" y2=\"\(at)\" x1=\"0\" x2=\"\(HTML.coordinate(grid))\"/>"
            }
            svg += "</g>"
        }
        svg += "<rect class=\"frame\" width=\"\(HTML.coordinate(grid))\" height=\"\(HTML.coordinate(grid))\"/>"
        svg += "<g class=\"labels\" font-size=\"\(HTML.coordinate(labelFont))\">"
        for index in stride(from: 0, to: count, by: labelEvery) {
            let centre = HTML.coordinate(position(index) + cell / 2)
            let name = HTML.escape(matrix.classes[index])
            svg += "<text x=\"-6\" y=\"\(centre)\" dy=\"0.32em\" text-anchor=\"end\"><title>\(name)</title>"
            svg += "\(HTML.escape(labels[index]))</text>"
            svg += "<text transform=\"translate(\(centre) \(HTML.coordinate(grid + 8))) rotate(-45)\" text-anchor=\"end\">"
            svg += "<title>\(name)</title>\(HTML.escape(labels[index]))</text>"
        }
        svg += "</g>"
        svg += "<text class=\"axis-label\" transform=\"translate(\(HTML.coordinate(-left + 12)) \(HTML.coordinate(grid / 2))) rotate(-90)\" text-anchor=\"middle\">True class</text>"
        svg += "<text class=\"axis-label\" x=\"\(HTML.coordinate(grid / 2))\" y=\"\(HTML.coordinate(grid + bottom - 6))\" text-anchor=\"middle\">Predicted class</text>"
        svg += legend(x: grid + 24, height: min(grid, 220))
        return svg + "</g></svg>"
    }

    /// A vertical colour bar for the row share, 0 % at the bottom.
    private func legend(x: Double, height: Double) -> String {
        let steps = 20
        var svg = "<g class=\"legend\" transform=\"translate(\(HTML.coordinate(x)) 0)\">"
        for step in 0..<steps {
            let share = 1 - Double(step) / Double(steps - 1)
            svg += "<rect y=\"\(HTML.coordinate(height * Double(step) / Double(steps)))\" width=\"12\" "
            svg += "height=\"\(HTML.coordinate(height / Double(steps) + 0.5))\" fill=\"\(Self.color(share))\"/>"
        }
        svg += "<text x=\"18\" y=\"8\">100%</text><text x=\"18\" y=\"\(HTML.coordinate(height))\">0%</text>"
        svg += "<text x=\"18\" y=\"\(HTML.coordinate(height / 2))\" dy=\"0.32em\">of row</text></g>"
        return svg
    }

    /// White to deep blue; the square root lifts small confusions out of the background.
    static func color(_ share: Double) -> String {
        let t = sqrt(min(max(share, 0), 1))
        let from = (248.0, 250.0, 252.0)
        let to = (30.0, 64.0, 175.0)
        func channel(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
        return String(format: "#%02x%02x%02x", channel(from.0, to.0), channel(from.1, to.1), channel(from.2, to.2))
    }
}
