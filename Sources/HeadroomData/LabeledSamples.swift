/// Class names and the samples labelled with them: torchvision's `classes` and `samples`.
///
/// Class indices are positions in `classes`, which is sorted by code point, so two datasets
/// with the same class names agree on every index.
public struct LabeledSamples: Sendable, Hashable {
    public let classes: [String]
    public let samples: [Sample]

    public init(classes: [String], samples: [Sample]) {
        self.classes = classes
        self.samples = samples
    }

    /// Every sample `count` times in a row: as many samples an epoch, each with its own index
    /// and so its own random stream (a slide's training regions).
    public func repeatingEach(_ count: Int) -> LabeledSamples {
        LabeledSamples(classes: classes, samples: samples.flatMap { Array(repeating: $0, count: max(1, count)) })
    }

    /// A short hash of every sample's file name and label, in order (FNV-1a): it changes when
    /// a file is added, removed, renamed or relabelled, not when the data set's folder moves.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for sample in samples {
            let name = sample.path.split(separator: "/").last.map(String.init) ?? sample.path
            for byte in "\(sample.classIndex)\t\(name)\n".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return String(hash, radix: 16)
    }

    /// torchvision's `class_to_idx`.
    public var classToIndex: [String: Int] {
        Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Checks that a validation set has exactly the training set's classes, so that its indices mean the same.
    public static func validateClasses(train: LabeledSamples, validation: LabeledSamples) throws(DatasetError) {
        guard train.classes != validation.classes else { return }
        let trainClasses = Set(train.classes), validationClasses = Set(validation.classes)
        throw .classMismatch(
            onlyInTrain: trainClasses.subtracting(validationClasses).sortedByCodePoints(),
            onlyInValidation: validationClasses.subtracting(trainClasses).sortedByCodePoints())
    }
}
