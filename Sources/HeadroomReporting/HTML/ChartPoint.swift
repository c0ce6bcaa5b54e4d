import Foundation

/// One point of a chart series, in data units.
struct ChartPoint: Sendable, Equatable {
    var x: Double
    var y: Double
}

extension Array where Element == ChartPoint {
    /// How a bucket of points becomes one when a series is thinned.
    enum Aggregate {
        /// Average: for noisy quantities such as loss and throughput.
        case mean
        /// Largest: for peaks, which must not be smoothed away.
        case maximum
    }

    /// At most `limit` points, each summarising a run of consecutive points, so that a
    /// 100 000-step run draws as fast (and as small) as a 1 000-step one.
    func thinned(to limit: Int, by aggregate: Aggregate) -> [ChartPoint] {
        guard count > limit, limit > 0 else { return self }
        return (0..<limit).map { bucket in
            let points = self[(bucket * count / limit)..<((bucket + 1) * count / limit)]
            let y: Double = switch aggregate {
            case .mean: points.reduce(0) { $0 + $1.y } / Double(points.count)
            case .maximum: points.map(\.y).max()!
            }
            return ChartPoint(x: points.last!.x, y: y)
        }
    }

    /// Only the points where the value changes, and the last: all a step line needs.
    func changePoints() -> [ChartPoint] {
        var kept: [ChartPoint] = []
        for (index, point) in enumerated() where index == 0 || index == count - 1 || point.y != self[index - 1].y {
            kept.append(point)
        }
        return kept
    }

    /// An exponential moving average, TensorBoard's "smoothing" (debiased at the start).
    func smoothed(weight: Double) -> [ChartPoint] {
        var average = 0.0
        return enumerated().map { index, point in
            average = average * weight + (1 - weight) * point.y
            return ChartPoint(x: point.x, y: average / (1 - pow(weight, Double(index + 1))))
        }
    }
}
