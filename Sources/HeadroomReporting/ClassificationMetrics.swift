/// Per-class and averaged precision, recall and F1 from a confusion matrix.
///
/// Follows scikit-learn's `classification_report(labels=range(n), zero_division=0)`:
/// every class in the matrix counts towards the averages, and a ratio whose
/// denominator is zero is 0 (a class never predicted has precision 0, a class
/// without samples has recall 0).
public struct ClassificationMetrics: Sendable, Equatable {
    public struct ClassScores: Sendable, Equatable {
        public let name: String
        public let precision: Double
        public let recall: Double
        public let f1: Double
        /// Samples of this class in the validation set.
        public let support: Int
    }

    public struct Averages: Sendable, Equatable {
        public let precision: Double
        public let recall: Double
        public let f1: Double
    }

    public let classes: [ClassScores]
    /// The unweighted mean over classes.
    public let macroAverage: Averages
    /// The mean over classes weighted by support.
    public let weightedAverage: Averages
    public let accuracy: Double
    public let total: Int

    public init(_ matrix: ConfusionMatrix) {
        classes = matrix.classes.indices.map { index in
            let truePositives = matrix.counts[index][index]
            let support = matrix.support(ofClass: index)
            let predicted = matrix.predictions(ofClass: index)
            // F1 from counts, 2tp / (2tp + fp + fn): equal to 2PR / (P + R), and 0 exactly when tp is.
            let falses = (predicted - truePositives) + (support - truePositives)
            return ClassScores(
                name: matrix.classes[index],
                precision: Self.ratio(truePositives, predicted),
                recall: Self.ratio(truePositives, support),
                f1: Self.ratio(2 * truePositives, 2 * truePositives + falses),
                support: support)
        }
        total = matrix.total
        accuracy = Self.ratio(matrix.correct, total)
        macroAverage = Self.average(classes) { _ in 1 }
        weightedAverage = Self.average(classes) { Double($0.support) }
    }

    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }

    private static func average(_ scores: [ClassScores], weight: (ClassScores) -> Double) -> Averages {
        let totalWeight = scores.reduce(0) { $0 + weight($1) }
        guard totalWeight > 0 else { return Averages(precision: 0, recall: 0, f1: 0) }
        func mean(_ value: (ClassScores) -> Double) -> Double {
            scores.reduce(0) { $0 + weight($1) * value($1) } / totalWeight
        }
        return Averages(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1))
    }
}
