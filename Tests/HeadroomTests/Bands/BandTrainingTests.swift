import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData
@testable import HeadroomInference
@testable import HeadroomModels
@testable import HeadroomTraining

/// Sets whose class lives where an 8-bit RGB reading cannot see it train with the defaults.
@Suite(.serialized) struct BandTrainingTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("headroom-bands") }

    func configuration(_ data: (train: URL, validation: URL)) -> TrainingConfiguration {
        var config = TrainingConfiguration(trainPath: data.train.path, validationPath: data.validation.path)
        config.epochs = 3
        config.batchSize = 8
        config.imageSize = 32
        config.validationImageSize = 32
        config.learningRate = 0.01
        config.device = .device(.cpu)
        config.precision = .fp32
        config.channelsLast = false
        config.cropScale = 0.5...1
        return config
    }

    func train(_ config: TrainingConfiguration, in name: String) throws -> (summary: TrainingSummary, setup: RunSetup) {
        let trainer = try Trainer(configuration: config, runDirectory: scratch.url.appendingPathComponent(name)) { _ in }
        defer { try? Device.cpu.setMemoryBudget(bytes: nil) }
        return (try trainer.run(), trainer.setup)
    }

    /// Five uint16 bands of noise around 3000; class b is 400 brighter in band 4 only.
    @Test func aSignalInTheFourthBandIsLearned() throws {
        let data = try SampleSetWriter(bands: 5).write(to: scratch.url.appendingPathComponent("band4")) { classIndex, band, random in
            3000 + random.nextUniform(from: -300, to: 300) + (band == 3 && classIndex == 1 ? 400 : 0)
        }
        let (summary, setup) = try train(configuration(data), in: "band4-run")
        #expect(setup.input.bands == 5 && setup.input.sampleType == .uint16 && setup.step.model.inputBands == 5)
        #expect(setup.normalisation.source == .data)
        #expect(try #require(summary.bestTop1) >= 0.9)
        try expectTheRunCarriesItsInput(summary: summary, setup: setup, validation: data.validation)
    }

    /// Evaluation, prediction and both exports read and normalise the images as training did.
    func expectTheRunCarriesItsInput(summary: TrainingSummary, setup: RunSetup, validation: URL) throws {
        let weights = try ClassifierWeights(contentsOf: summary.runDirectory)
        #expect(weights.input == ModelInput(format: setup.input, normalisation: setup.normalisation))
        let classifier = try Classifier(weights: weights)
        #expect(classifier.model.inputBands == 5)
        let evaluation = try ModelEvaluation(classifier: classifier, imageFolder: validation.path, imageSize: 32)
        #expect(evaluation.result.top1 == summary.lastValidation?.top1)
        let files = try ImageFiles.expand([validation.path])
        let predictions = try classifier.predict(files: files, imageSize: 32, topK: 1)
        let correct = zip(files, predictions).filter { file, prediction in
            prediction.classes.first?.name == URL(fileURLWithPath: file).deletingLastPathComponent().lastPathComponent
        }
        #expect(Double(correct.count) / Double(files.count) == evaluation.result.top1)

        // A safetensors export reads back with the same input; an ONNX one declares 5 bands and computes the same logits.
        let exported = scratch.url.appendingPathComponent("band4.safetensors")
        try weights.export(to: exported)
        #expect(try ClassifierWeights(contentsOf: exported).input == weights.input)
        let metadata = try ModelFile.read(exported).metadata
        #expect(metadata[ModelInput.MetadataKey.input]?.contains(#""fileBands":5"#) == true)
        #expect(metadata[ModelFile.MetadataKey.normalization]?.contains(#""units": "stored value""#) == true)
        let onnxFile = scratch.url.appendingPathComponent("band4.onnx")
        try weights.export(to: onnxFile)
        let onnx = try ONNXReference(contentsOf: onnxFile)
        #expect(onnx.inputs.first?.dimensions == ["batch", "5", "height", "width"])
        #expect(onnx.metadata[ModelInput.MetadataKey.input] == metadata[ModelInput.MetadataKey.input])
        let input = try Tensor.randn([2, 5, 32, 32], generator: Generator(seed: 4))
        let logits = try #require(onnx.run(input)["logits"])
        let model = try weights.makeModel()
        let expected = try withoutGradient { try model(input) }
        #expect(try (logits - expected).abs().max().item() < 1e-3)
    }

    /// One uint16 band whose high byte is the same for both classes: only the low byte differs.
    @Test func aSignalInTheLowByteIsLearned() throws {
        let data = try SampleSetWriter(bands: 1).write(to: scratch.url.appendingPathComponent("lowbyte")) { classIndex, _, random in
            Double(0x1200) + random.nextUniform(from: 0, to: 100) + (classIndex == 1 ? 120 : 0)
        }
        let (summary, setup) = try train(configuration(data), in: "lowbyte-run")
        #expect(setup.input.bands == 1 && setup.step.model.inputBands == 1)
        #expect(try #require(summary.bestTop1) >= 0.9)
    }

    /// The measured statistics are the pixels' own: mean and std pooled over the sampled images.
    @Test func dataNormalisationIsTheSetsMeanAndStd() throws {
        var writer = SampleSetWriter(bands: 2)
        writer.size = 8
        writer.perClass = (4, 1)
        var written: [[Double]] = [[], []]
        let data = try writer.write(to: scratch.url.appendingPathComponent("stats")) { classIndex, band, random in
            let value = (band == 0 ? 100 : -50 + 1000) + random.nextUniform(from: 0, to: 64).rounded(.down) + Double(classIndex)
            return value
        }
        // Read back what was written through an independent path: the raw samples of each file.
        let samples = try ImageFolder(root: data.train.path).scan()
        let decoder = ImageDecoder()
        var format = try InputFormat.detect(samples, decoder: decoder)
        format.example = nil
        var reading = decoder
        reading.input = format
        for sample in samples.samples {
            let bytes = try reading.readFile(atPath: sample.path)
            let values = try reading.decodeSamples(bytes, source: sample.path, format: format) {
                CropBox(top: 0, left: 0, height: $0.height, width: $0.width)
            }
            for band in 0..<2 { written[band] += try values.slice(dim: 1, band..<(band + 1)).to(dtype: .float64).array(of: Double.self) }
        }
        let measured = try BandStatistics.measure(samples, decoder: reading)
        #expect(measured.images == 8)
        for band in 0..<2 {
            let count = Double(written[band].count)
            let mean = written[band].reduce(0, +) / count
            let std = (written[band].map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / count).squareRoot()
            #expect(abs(measured.mean[band] - mean) < 1e-9 * abs(mean) + 1e-12)
            #expect(abs(measured.std[band] - std) < 1e-9 * std)
        }
    }

    @Test func normalisationChoicesParseAndResolve() throws {
        #expect(NormalisationChoice(parsing: "imagenet") == .imagenet)
        #expect(NormalisationChoice(parsing: "0.5,0.5/0.25,0.25") == .given(mean: [0.5, 0.5], std: [0.25, 0.25]))
        #expect(NormalisationChoice(parsing: "1,2/3") == nil && NormalisationChoice(parsing: "1/0") == nil)
        let never: () throws -> BandStatistics = { Issue.record("measured"); return BandStatistics(mean: [], std: [], images: 0) }
        // RGB photos keep ImageNet's statistics, in the loader's 0…255 units; given [0, 1] values are scaled so.
        #expect(try NormalisationChoice.auto.resolve(for: .rgb, measure: never) == .imageNet)
        let given = try NormalisationChoice.given(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]).resolve(for: .rgb, measure: never)
        #expect(zip(given.mean, InputNormalisation.imageNet.mean).allSatisfy { abs($0 - $1) < 1e-4 })
        let deep = InputFormat(reading: .samples, fileBands: 13, sampleType: .uint16)
        #expect(throws: TrainingSetupError.self) { try NormalisationChoice.imagenet.resolve(for: deep, measure: never) }
        #expect(throws: TrainingSetupError.self) { try NormalisationChoice.given(mean: [1], std: [2]).resolve(for: deep, measure: never) }
        let measured = try NormalisationChoice.auto.resolve(for: deep) { BandStatistics(mean: Array(repeating: 2, count: 13), std: Array(repeating: 3, count: 13), images: 5) }
        #expect(measured.source == .data && measured.sampledImages == 5 && measured.mean.count == 13)
    }
}
