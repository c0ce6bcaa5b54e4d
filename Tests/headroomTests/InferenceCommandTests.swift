import ArgumentParser
import Foundation
import Headroom
import Testing
@testable import headroom

@Suite struct InferenceCommandTests {
    @Test func evaluateParsesItsArgumentsAndOptions() throws {
        let command = try #require(
            try HeadroomCommand.parseAsRoot([
                "evaluate", "run/checkpoints/best.safetensors", "data/val", "--image-size", "96", "--batch-size", "8",
                "--workers", "3", "--json",
            ]) as? Evaluate)
        #expect(command.checkpoint == "run/checkpoints/best.safetensors")
        #expect(command.data == "data/val")
        #expect(command.options.imageSize == 96)
        #expect(command.options.batchSize == 8)
        #expect(command.options.workers == 3)
        #expect(command.options.device == .auto)
        #expect(command.json)
    }

    @Test(arguments: [
        ["evaluate", "run"],
        ["evaluate", "run", "data", "--batch-size", "0"],
        ["evaluate", "run", "data", "--image-size", "8"],
        ["evaluate", "run", "data", "--device", "tpu"],
        ["predict", "run"],
        ["predict", "run", "images", "--json", "--csv"],
        ["predict", "run", "images", "--top-k", "0"],
        ["predict", "run", "images", "--workers", "0"],
        ["export", "run"],
    ])
    func refusesInvalidOptions(arguments: [String]) {
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(arguments) }
    }

    @Test func predictTakesManyInputs() throws {
        let command = try #require(
            try HeadroomCommand.parseAsRoot(["predict", "run", "a.jpg", "folder", "b.png", "--top-k", "3", "--csv"]) as? Predict)
        #expect(command.inputs == ["a.jpg", "folder", "b.png"])
        #expect(command.topK == 3)
        #expect(command.csv && !command.json)
        #expect(command.options.batchSize == 64)
    }

    /// 0 when every image was predicted, 1 when any failed (as --help documents).
    @Test func predictExitStatus() {
        let good = Prediction(path: "a.jpg", classes: [.init(name: "cat", probability: 0.9)])
        let bad = Prediction(path: "x.jpg", error: "not a JPEG or PNG image")
        #expect(Predict.exitCode(for: [good, good]) == .success)
        #expect(Predict.exitCode(for: [good, bad, good]).rawValue == 1)
        #expect(Predict.configuration.discussion.contains("0 when every image was classified; 1 when some could not be"))
    }

    @Test func predictCSVRowsQuoteAndReportErrors() {
        let good = Prediction(path: "a,b.jpg", classes: [.init(name: "cat", probability: 0.75), .init(name: "dog", probability: 0.25)])
        let bad = Prediction(path: "x.jpg", error: "the image data is corrupt: \"bad\"")
        #expect(Predict.csvHeader(topK: 2) == "path,class_1,probability_1,class_2,probability_2,error")
        #expect(Predict.csvRow(good, topK: 2) == "\"a,b.jpg\",cat,0.750000,dog,0.250000,")
        #expect(Predict.csvRow(bad, topK: 2) == "x.jpg,,,,,\"the image data is corrupt: \"\"bad\"\"\"")
    }

    @Test func exportAndReportParse() throws {
        let export = try #require(try HeadroomCommand.parseAsRoot(["export", "run", "--to", "model.safetensors"]) as? Export)
        #expect(export.checkpoint == "run" && export.to == "model.safetensors")
        #expect(try HeadroomCommand.parseAsRoot(["export", "run", "--to", "model.ONNX"]) is Export)
        // A format Headroom cannot write is refused with the list, not written as safetensors under its name.
        for name in ["model.pt", "model.pth", "model"] {
            do {
                _ = try HeadroomCommand.parseAsRoot(["export", "run", "--to", name])
                Issue.record("--to \(name) accepted")
            } catch {
                let message = HeadroomCommand.message(for: error)
                #expect(message.contains(".safetensors, .onnx"), "\(message)")
            }
        }
        let notARun = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-not-a-run-\(UUID())").path
        #expect(throws: (any Error).self) { try HeadroomCommand.parseAsRoot(["report", notARun]) }
    }

    @Test func tableColumnsAlign() {
        let lines = TextTable.lines([["class", "f1"], ["circles", "0.5"], ["sq", "1.000"]], rightAligned: [1])
        #expect(lines == ["class       f1", "circles    0.5", "sq       1.000"])
    }

    /// A model whose weights went NaN gives NaN probabilities: --json still prints every row,
    /// the non-numbers as metrics.jsonl writes them, instead of failing with an encoding error.
    @Test func predictJSONWritesNonFiniteProbabilities() throws {
        let rows = [
            Prediction(path: "a.jpg", classes: [.init(name: "circles", probability: .nan), .init(name: "squares", probability: .infinity)]),
            Prediction(path: "b.jpg", error: "not an image"),
        ]
        let text = try Predict.json(rows)
        #expect(text.contains(#""probability" : "nan""#) && text.contains(#""probability" : "inf""#), "\(text)")
        #expect(text.contains("b.jpg"))
    }
}
