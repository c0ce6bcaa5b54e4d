import Testing

@testable import HeadroomReporting

@Suite struct AxisScaleTests {
    @Test func ticksAreNiceAndCoverTheData() {
        let scale = AxisScale(minimum: 0.37, maximum: 2.41, tickCount: 5)
        #expect(scale.ticks == [0, 0.5, 1, 1.5, 2, 2.5])
        #expect(scale.lower == 0 && scale.upper == 2.5)
    }

    @Test func integerAxesNeverTickBetweenIntegers() {
        let scale = AxisScale(minimum: 1, maximum: 3, tickCount: 8, integerTicks: true, snapsToTicks: false)
        #expect(scale.ticks == [1, 2, 3])
    }

    @Test func aSingleValueGetsARange() {
        let scale = AxisScale(minimum: 1, maximum: 1, tickCount: 5, integerTicks: true, snapsToTicks: false)
        #expect(scale.lower < 1 && scale.upper > 1)
        #expect(scale.ticks.contains(1))
        #expect(scale.position(1, in: 0...100) == 50)
    }

    @Test func byteAxesTickOnWholeUnits() {
        let gibibyte = Double(1 << 30)
        let axis = ChartAxis(label: "Memory", format: .bytes, includesZero: true)
        let scale = axis.scale(minimum: 0, maximum: 7.3 * gibibyte, tickCount: 5, snapsToTicks: true)
        #expect(scale.ticks.map { $0 / gibibyte } == [0, 2, 4, 6, 8])
        #expect(axis.tickLabel(4 * gibibyte, step: scale.tickStep) == "4 GiB")
    }

    @Test func thinningKeepsPeaksWhenAskedTo() {
        let points = (0..<1000).map { ChartPoint(x: Double($0), y: $0 == 500 ? 100 : 1) }
        let thinned = points.thinned(to: 100, by: .maximum)
        #expect(thinned.count == 100)
        #expect(thinned.map(\.y).max() == 100)
        #expect(points.thinned(to: 100, by: .mean).map(\.y).max()! < 100)
    }
}
