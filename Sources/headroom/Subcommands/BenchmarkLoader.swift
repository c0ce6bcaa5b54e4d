import ArgumentParser
import Foundation
import Headroom

/// Hidden: the Headroom side of bench/loader.py and bench/samples.py — decode, resize, crop
/// into batches (uint8 photos, float32 full-depth samples, as the set's headers say).
struct BenchmarkLoader: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark-loader", abstract: "Time the loader over an ImageFolder (for bench/).", shouldDisplay: false)

    @Argument(help: "An ImageFolder directory.") var directory: String
    @Option(help: "Output resolution.") var resolution = 512
    @Option(help: "Samples per batch.") var batch = 16
    @Option(help: "Decoding threads.") var workers = 2
    @Option(help: "evaluation (Resize + CenterCrop, nothing cut away) or training (RandomResizedCrop + flip).")
    var transform = "evaluation"
    @Flag(help: "Decode whole images and cut the crop out (the path before regions were decoded alone).")
    var wholeImages = false
    @Flag(help: "Time the first batch too (as a DataLoader timed from its start, whose workers prefetch).")
    var timeFirstBatch = false
    @Option(help: "Whole slides: the level training regions are read at.") var slideLevel: Int?
    @Flag(help: "Whole slides: regions anywhere, not only on tissue.") var noTissueMask = false
    @Option(help: "Whole slides: regions of each slide, as train's --slide-regions.") var slideRegions = 1

    func validate() throws {
        guard ["evaluation", "training"].contains(transform) else { throw ValidationError("--transform: evaluation or training") }
    }

    func run() throws {
        let scanned = try ImageFolder(root: directory).scan()
        // torchvision's Resize(n) + CenterCrop(n): the evaluation transform with nothing cut away.
        var decoder = ImageDecoder()
        decoder.decodesRegionsAlone = !wholeImages
        let slide = slideLevel != nil || noTissueMask ? SlideReading(view: .level(slideLevel ?? 0), tissueMask: !noTissueMask) : nil
        decoder.input = try InputFormat.detect(scanned, decoder: decoder, slide: slide)
        let samples = decoder.input.reading == .slide ? scanned.repeatingEach(slideRegions) : scanned
        let loader = BatchLoader(
            samples: samples, transform: transform == "training" ? .standardTraining : .evaluation(cropFraction: 1), seed: 0,
            workers: workers, decoder: decoder)
        let batches = samples.samples.count / batch
        let untimed = timeFirstBatch ? 0 : 1
        if !timeFirstBatch { _ = try loader.batch(Array(0..<batch), resolution: resolution, epoch: 0) }  // warm-up
        let start = Date()
        for index in untimed..<batches {
            _ = try loader.batch(Array((index * batch)..<((index + 1) * batch)), resolution: resolution, epoch: 0)
        }
        let seconds = Date().timeIntervalSince(start)
        print("{\"images\": \((batches - untimed) * batch), \"seconds\": \(seconds)}")
    }
}
