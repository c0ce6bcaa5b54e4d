import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData
@testable import HeadroomModels
@testable import HeadroomInference
@testable import HeadroomTraining

/// A folder of whole slides trains at a chosen level, and the run's checkpoint reads slides as
/// training did; sets that mix slides with images, and slide options for images, are refused.
@Suite(.serialized) struct SlideTrainingTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("headroom-slide-training") }

    func slides(_ name: String, perClass: Int = 16) throws -> (train: URL, validation: URL) {
        var set = SyntheticDataset()
        set.classes = ["checkers", "circles"]
        (set.trainPerClass, set.validationPerClass, set.width, set.height, set.slides) = (perClass, 4, 256, 192, true)
        return try set.write(to: scratch.url.appendingPathComponent(name))
    }

    func configuration(_ data: (train: URL, validation: URL)) -> TrainingConfiguration {
        var config = TrainingConfiguration(trainPath: data.train.path, validationPath: data.validation.path)
        config.epochs = 3
        config.batchSize = 8
        config.imageSize = 48
        config.learningRate = 0.01
        config.device = .device(.cpu)
        config.precision = .fp32
        config.channelsLast = false
        config.slide = SlideReading(view: .level(1))
        return config
    }

    @Test func slidesTrainAtALevelAndTheRunReadsThemAsTrainingDid() throws {
        let data = try slides("set")
        var config = configuration(data)
        config.slideRegions = 2  // as many steps as 6 epochs of one region a slide
        let trainer = try Trainer(configuration: config, runDirectory: scratch.url.appendingPathComponent("run")) { _ in }
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        let summary = try trainer.run()
        let input = trainer.setup.input
        #expect(trainer.setup.train.samples.count == 2 * 2 * 16)
        #expect(input.reading == .slide && input.slide == SlideReading(view: .level(1)) && input.batchType == .uint8)
        #expect(trainer.setup.normalisation.source == .imagenet)
        #expect(try #require(summary.bestTop1) >= 0.75)

        // The saved weights carry the slide reading; evaluation and prediction through them read
        // the slides as the run's validation did.
        let weights = try ClassifierWeights(contentsOf: summary.runDirectory)
        #expect(weights.input == ModelInput(format: input, normalisation: trainer.setup.normalisation))
        let metadata = try ModelFile.read(summary.runDirectory.appendingPathComponent("checkpoints/best.safetensors")).metadata
        #expect(metadata[ModelInput.MetadataKey.input]?.contains(#""level":1"#) == true)
        let classifier = try Classifier(weights: weights)
        let evaluation = try ModelEvaluation(classifier: classifier, imageFolder: data.validation.path, imageSize: config.resolvedValidationImageSize)
        #expect(evaluation.result.top1 == summary.lastValidation?.top1)
        let files = try ImageFiles.expand([data.validation.path])
        let predictions = try classifier.predict(files: files, imageSize: config.resolvedValidationImageSize, topK: 1)
        let correct = zip(files, predictions).filter { file, prediction in
            prediction.classes.first?.name == URL(fileURLWithPath: file).deletingLastPathComponent().lastPathComponent
        }
        #expect(Double(correct.count) / Double(files.count) == evaluation.result.top1)
    }

    @Test func setsMixingSlidesAndImagesOrSlideOptionsForImagesAreRefused() throws {
        let data = try slides("mixed", perClass: 1)
        var photos = SyntheticDataset()
        photos.classes = ["checkers", "circles"]
        (photos.trainPerClass, photos.validationPerClass, photos.width, photos.height) = (1, 1, 64, 48)
        let photoSet = try photos.write(to: scratch.url.appendingPathComponent("photos"))
        let slideSamples = try ImageFolder(root: data.train.path).scan()
        let photoSamples = try ImageFolder(root: photoSet.train.path).scan()
        let mixed = LabeledSamples(classes: slideSamples.classes, samples: slideSamples.samples + photoSamples.samples)
        #expect { try InputFormat.detect(mixed, decoder: ImageDecoder()) } throws: { "\($0)".contains("mixes whole slides") }
        #expect { try InputFormat.detect(photoSamples, decoder: ImageDecoder(), slide: SlideReading(view: .level(1))) } throws: {
            "\($0)".contains("--slide-level") && "\($0)".contains("OpenSlide reads none")
        }
        #expect { try InputFormat.detect(slideSamples, decoder: ImageDecoder(), slide: SlideReading(view: .level(9))) } throws: {
            "\($0)".contains("--slide-level 9")
        }
        #expect { try InputFormat.detect(slideSamples, decoder: ImageDecoder(), slide: SlideReading(view: .micronsPerPixel(0.1))) } throws: {
            "\($0)".contains("does not enlarge")
        }
        let found = try InputFormat.detect(slideSamples, decoder: ImageDecoder())
        #expect(found.reading == .slide && found.slide == SlideReading() && found.isRGB)
        // A cut slide among slides (its first page still a readable TIFF) is a broken slide for
        // training to count, not an image that makes the set a mixture.
        let cut = data.train.appendingPathComponent("circles/cut.tiff")
        try FileManager.default.copyItem(at: SlideFixtureTests.directory.appendingPathComponent("truncated.tiff"), to: cut)
        #expect(try ImageDecoder().facts(atPath: cut.path).format == "TIFF")
        let withCut = LabeledSamples(classes: slideSamples.classes, samples: slideSamples.samples + [Sample(path: cut.path, classIndex: 1)])
        #expect(try InputFormat.detect(withCut, decoder: ImageDecoder()).reading == .slide)
    }

    @Test func theSlideReadingSurvivesJSONAsAReaderExpectsIt() throws {
        for reading in [SlideReading(view: .level(2)), SlideReading(view: .micronsPerPixel(0.5), tissueMask: false, evaluation: .whole)] {
            let data = try JSONEncoder().encode(reading)
            #expect(try JSONDecoder().decode(SlideReading.self, from: data) == reading)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains(reading.view.isLevel ? "\"level\":2" : "\"mpp\":0.5"), "\(text)")
        }
    }
}
