import Testing

@testable import HeadroomReporting

@Suite struct ClassificationMetricsTests {
    /// Rows are true classes a, b, c, d. c is never predicted; d has no samples but is predicted once.
    static let matrix = try! ConfusionMatrix(
        classes: ["a", "b", "c", "d"],
        counts: [
            [3, 1, 0, 1],
            [1, 2, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 0, 0],
        ])

    @Test func perClassScoresMatchHandComputedValues() throws {
        let metrics = ClassificationMetrics(Self.matrix)
        let a = metrics.classes[0]
        #expect(a.name == "a" && a.support == 5)
        #expect(abs(a.precision - 0.6) < 1e-12 && abs(a.recall - 0.6) < 1e-12 && abs(a.f1 - 0.6) < 1e-12)
        let b = metrics.classes[1]
        #expect(abs(b.precision - 0.5) < 1e-12)
        #expect(abs(b.recall - 2.0 / 3.0) < 1e-12)
        #expect(abs(b.f1 - 4.0 / 7.0) < 1e-12)
        #expect(b.support == 3)
    }

    @Test func aClassNeverPredictedHasPrecisionZero() {
        let c = ClassificationMetrics(Self.matrix).classes[2]
        #expect(c.precision == 0)
        #expect(c.recall == 0)
        #expect(c.f1 == 0)
        #expect(c.support == 2)
    }

    @Test func aClassWithoutSupportHasRecallZero() {
        let d = ClassificationMetrics(Self.matrix).classes[3]
        #expect(d.support == 0)
        #expect(d.precision == 0)  // predicted once, wrongly
        #expect(d.recall == 0)
        #expect(d.f1 == 0)
    }

    @Test func averagesCountEveryClass() {
        let metrics = ClassificationMetrics(Self.matrix)
        #expect(metrics.accuracy == 0.5)
        #expect(metrics.total == 10)
        #expect(abs(metrics.macroAverage.precision - 0.275) < 1e-12)
        #expect(abs(metrics.macroAverage.recall - (0.6 + 2.0 / 3.0) / 4) < 1e-12)
        #expect(abs(metrics.macroAverage.f1 - (0.6 + 4.0 / 7.0) / 4) < 1e-12)
        #expect(abs(metrics.weightedAverage.precision - 0.45) < 1e-12)
        #expect(abs(metrics.weightedAverage.recall - 0.5) < 1e-12)
        #expect(abs(metrics.weightedAverage.f1 - (3 + 3 * 4.0 / 7.0) / 10) < 1e-12)
    }

    @Test func anEmptyMatrixGivesZerosNotNaN() throws {
        let metrics = ClassificationMetrics(try ConfusionMatrix(classes: ["x", "y"], counts: [[0, 0], [0, 0]]))
        #expect(metrics.accuracy == 0)
        #expect(metrics.macroAverage == .init(precision: 0, recall: 0, f1: 0))
        #expect(metrics.weightedAverage == .init(precision: 0, recall: 0, f1: 0))
    }

    @Test func aPerfectClassifierScoresOne() throws {
        let metrics = ClassificationMetrics(try ConfusionMatrix(classes: ["x", "y"], counts: [[4, 0], [0, 6]]))
        #expect(metrics.accuracy == 1)
        #expect(metrics.classes.allSatisfy { $0.precision == 1 && $0.recall == 1 && $0.f1 == 1 })
        #expect(metrics.weightedAverage == .init(precision: 1, recall: 1, f1: 1))
    }

    @Test func invalidMatricesAreRejected() {
        #expect(throws: ReportError.self) { try ConfusionMatrix(classes: ["x"], counts: [[1, 2]]) }
        #expect(throws: ReportError.self) { try ConfusionMatrix(classes: ["x", "y"], counts: [[1, 2]]) }
        #expect(throws: ReportError.self) { try ConfusionMatrix(classes: ["x"], counts: [[-1]]) }
    }
}
