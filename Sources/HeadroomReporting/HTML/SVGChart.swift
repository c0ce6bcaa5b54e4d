/// A line chart as inline SVG: gridlines, ticked axes, series, and vertical event markers.
/// Points carry `<title>` tooltips when they are few enough to hover one by one.
struct SVGChart {
    struct Series {
        enum Style {
            case line
            /// Holds each value until the next point: settings that change in jumps.
            case step
        }

        var name: String
        var color: String
        var points: [ChartPoint]
        var style: Style = .line
        var isDashed = false
        var lineWidth = 2.0
        var opacity = 1.0
        /// Dots with tooltips; the default draws them when there are few points.
        var showsPoints: Bool?
    }

    /// A vertical line at an event, such as an out-of-memory error.
    struct Marker {
        var x: Double
        var color: String
        var label: String
    }

    /// A shaded stretch of x, such as the steps run under a reduced budget.
    struct Band {
        var from: Double
        var to: Double
        var color: String
        var label: String
    }

    var bands: [Band] = []
    var width = 600.0
    var height = 240.0
    var xAxis: ChartAxis
    var yAxis: ChartAxis
    var series: [Series]
    var markers: [Marker] = []
    var yTickCount = 5

    // left: room for a tick label such as "400 MiB" beside the rotated axis title.
    private let margin = (top: 14.0, right: 18.0, bottom: 40.0, left: 80.0)
    private static let pointLimit = 60

    /// Non-finite points (a diverged loss) are left out: they have no place on an axis.
    init(xAxis: ChartAxis, yAxis: ChartAxis, series: [Series], markers: [Marker] = []) {
        self.xAxis = xAxis
        self.yAxis = yAxis
        self.series = series.map { line in
            var finite = line
            finite.points = line.points.filter { $0.x.isFinite && $0.y.isFinite }
            return finite
        }
        self.markers = Self.merged(markers.filter { $0.x.isFinite })
    }

    /// Markers of one colour at one x (two out-of-memory errors in one step) become one
    /// whose label says how many and lists each: drawn apart they would hide each other.
    static func merged(_ markers: [Marker]) -> [Marker] {
        var order: [String] = []
        var groups: [String: [Marker]] = [:]
        for marker in markers {
            let key = "\(marker.x) \(marker.color)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(marker)
        }
        return order.map { key in
            let group = groups[key]!
            guard group.count > 1 else { return group[0] }
            return Marker(x: group[0].x, color: group[0].color, label: "\(group.count) events:\n" + group.map(\.label).joined(separator: "\n"))
        }
    }

    func render() -> String {
        let points = series.flatMap(\.points)
        let xs = points.map(\.x) + markers.map(\.x)
        let ys = points.map(\.y)
        let xScale = xAxis.scale(
            minimum: xs.min() ?? 0, maximum: xs.max() ?? 1, tickCount: max(Int(width / 110), 2), snapsToTicks: false)
        let yScale = yAxis.scale(minimum: ys.min() ?? 0, maximum: ys.max() ?? 1, tickCount: yTickCount, snapsToTicks: true)
        let xRange = margin.left...(width - margin.right)
        let yRange = margin.top...(height - margin.bottom)
        func x(_ value: Double) -> String { HTML.coordinate(xScale.position(value, in: xRange)) }
        func y(_ value: Double) -> String { HTML.coordinate(yScale.position(value, in: yRange, reversed: true)) }

        var svg = """
            <svg class="chart" viewBox="0 0 \(HTML.coordinate(width)) \(HTML.coordinate(height))" \
            role="img" aria-label="\(HTML.escape(yAxis.label)) by \(HTML.escape(xAxis.label))">
            """
        svg += "<g class=\"grid\">"
        for tick in yScale.ticks {
            svg += "<line x1=\"\(x(xScale.lower))\" x2=\"\(x(xScale.upper))\" y1=\"\(y(tick))\" y2=\"\(y(tick))\"/>"
        }
        svg += "</g><g class=\"ticks\">"
        for tick in yScale.ticks {
            svg += "<text x=\"\(HTML.coordinate(margin.left - 8))\" y=\"\(y(tick))\" text-anchor=\"end\" dy=\"0.32em\">"
            svg += "\(HTML.escape(yAxis.tickLabel(tick, step: yScale.tickStep)))</text>"
        }
        let baseline = HTML.coordinate(yRange.upperBound)
        for tick in xScale.ticks {
            svg += "<line class=\"tick\" x1=\"\(x(tick))\" x2=\"\(x(tick))\" y1=\"\(baseline)\" y2=\"\(HTML.coordinate(yRange.upperBound + 5))\"/>"
            svg += "<text x=\"\(x(tick))\" y=\"\(HTML.coordinate(yRange.upperBound + 18))\" text-anchor=\"middle\">"
            svg += "\(HTML.escape(xAxis.tickLabel(tick, step: xScale.tickStep)))</text>"
        }
        svg += "</g>"
        svg += "<line class=\"axis\" x1=\"\(x(xScale.lower))\" x2=\"\(x(xScale.upper))\" y1=\"\(baseline)\" y2=\"\(baseline)\"/>"
        svg += "<text class=\"axis-label\" x=\"\(HTML.coordinate((xRange.lowerBound + xRange.upperBound) / 2))\" "
        svg += "y=\"\(HTML.coordinate(height - 4))\" text-anchor=\"middle\">\(HTML.escape(xAxis.label))</text>"
        let yMiddle = HTML.coordinate((yRange.lowerBound + yRange.upperBound) / 2)
        svg += "<text class=\"axis-label\" transform=\"translate(13 \(yMiddle)) rotate(-90)\" text-anchor=\"middle\">"
        svg += "\(HTML.escape(yAxis.label))</text>"

        for band in bands {
            let left = xScale.position(band.from, in: xRange), right = xScale.position(band.to, in: xRange)
            svg += "<rect class=\"band\" x=\"\(HTML.coordinate(left))\" y=\"\(HTML.coordinate(yRange.lowerBound))\" "
            svg += "width=\"\(HTML.coordinate(max(right - left, 2)))\" height=\"\(HTML.coordinate(yRange.upperBound - yRange.lowerBound))\" "
            svg += "fill=\"\(band.color)\" fill-opacity=\"0.12\"><title>\(HTML.escape(band.label))</title></rect>"
        }

        for marker in markers {
            let position = x(marker.x)
            svg += "<g class=\"marker\"><title>\(HTML.escape(marker.label))</title>"
            svg += "<line x1=\"\(position)\" x2=\"\(position)\" y1=\"\(HTML.coordinate(yRange.lowerBound))\" y2=\"\(baseline)\" stroke=\"\(marker.color)\"/>"
            svg += "<line class=\"hit\" x1=\"\(position)\" x2=\"\(position)\" y1=\"\(HTML.coordinate(yRange.lowerBound))\" y2=\"\(baseline)\"/>"
            svg += "<path d=\"M\(position) \(HTML.coordinate(yRange.lowerBound))l-4 -6h8z\" fill=\"\(marker.color)\"/></g>"
        }

        for line in series where !line.points.isEmpty {
            var path = ""
            for (index, point) in line.points.enumerated() {
                if index == 0 {
                    path += "M\(x(point.x)) \(y(point.y))"
                } else if line.style == .step {
                    path += "H\(x(point.x))V\(y(point.y))"
                } else {
                    path += "L\(x(point.x)) \(y(point.y))"
                }
            }
            svg += "<path class=\"series\" d=\"\(path)\" stroke=\"\(line.color)\" stroke-width=\"\(line.lineWidth)\""
            if line.isDashed { svg += " stroke-dasharray=\"6 4\"" }
            if line.opacity < 1 { svg += " stroke-opacity=\"\(line.opacity)\"" }
            svg += "/>"
            if line.showsPoints ?? (line.points.count <= Self.pointLimit && line.style == .line) {
                svg += "<g class=\"points\" fill=\"\(line.color)\">"
                for point in line.points {
                    let tip = "\(line.name) · \(xAxis.label) \(xAxis.valueLabel(point.x)): \(yAxis.valueLabel(point.y))"
                    svg += "<circle cx=\"\(x(point.x))\" cy=\"\(y(point.y))\" r=\"3.2\"><title>\(HTML.escape(tip))</title></circle>"
                }
                svg += "</g>"
            }
        }
        return svg + "</svg>"
    }
}
