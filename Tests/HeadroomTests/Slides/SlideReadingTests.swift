import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData

/// Slides Headroom writes itself (SlideTIFF: uncompressed tiles, so every pixel is known) read
/// back through OpenSlide exactly, at every level; views, boxes and the training and evaluation
/// samples of a slide.
@Suite struct SlideReadingTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("headroom-slides") }

    /// A pattern no two nearby pixels share, and its levels (each pixel of level l is the one at
    /// (x·2^l, y·2^l) of level 0, so a level's pixels are known without resampling).
    static func pattern(_ size: ImageSize, step: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: size.pixelCount * 3)
        for y in 0..<size.height {
            for x in 0..<size.width {
                let (u, v) = (x * step, y * step)
                rgb[3 * (y * size.width + x)] = UInt8((u * 7 + v * 3) & 255)
                rgb[3 * (y * size.width + x) + 1] = UInt8((u * 13 + v * 29) & 255)
                rgb[3 * (y * size.width + x) + 2] = UInt8((u ^ v) & 255)
            }
        }
        return rgb
    }

    func writePyramid(_ name: String, mpp: Double? = 0.5) throws -> (path: String, levels: [(size: ImageSize, rgb: [UInt8])]) {
        let sizes = [ImageSize(width: 300, height: 200), ImageSize(width: 150, height: 100), ImageSize(width: 75, height: 50)]
        let levels = sizes.enumerated().map { (size: $1, rgb: Self.pattern($1, step: 1 << $0)) }
        let url = scratch.url.appendingPathComponent(name)
        try Data(SlideTIFF.encode(levels: levels, tile: 64, micronsPerPixel: mpp)).write(to: url)
        return (url.path, levels)
    }

    @Test func everyLevelReadsBackExactlyAcrossTilesAndEdges() throws {
        let (path, levels) = try writePyramid("pattern.tiff")
        let slide = try WholeSlide(path: path)
        #expect(slide.vendor == "generic-tiff" && slide.levels.map(\.size) == levels.map(\.size))
        #expect(slide.levels.map(\.downsample) == [1, 2, 4])
        let mpp = try #require(slide.micronsPerPixel)
        #expect(abs(mpp.x - 0.5) < 1e-6 && abs(mpp.y - 0.5) < 1e-6)
        // Boxes inside a tile, across tile seams, and reaching past the right and bottom edges.
        for (level, x, y, width, height) in [(0, 3, 5, 20, 10), (0, 50, 60, 100, 70), (1, 100, 40, 60, 50), (2, 8, 4, 67, 46), (0, 280, 190, 40, 30)] {
            let downsample = 1 << level
            let pixels: [UInt8] = try slide.region(level: level, x: x, y: y, width: width, height: height)
                .select(dim: 0, index: 0).permuted([1, 2, 0]).contiguous().array()
            let size = levels[level].size
            for row in 0..<height {
                for column in 0..<width {
                    let (lx, ly) = (x / downsample + column, y / downsample + row)
                    let expected = lx < size.width && ly < size.height
                        ? Array(levels[level].rgb[(3 * (ly * size.width + lx))..<(3 * (ly * size.width + lx) + 3)]) : [255, 255, 255]
                    let got = Array(pixels[(3 * (row * width + column))..<(3 * (row * width + column) + 3)])
                    guard got == expected else {
                        Issue.record("level \(level) (\(x), \(y)) \(width)×\(height): pixel (\(column), \(row)) is \(got), not \(expected)")
                        return
                    }
                }
            }
        }
    }

    @Test func viewsPickTheLevelOrTheFinerOneResized() throws {
        let (path, _) = try writePyramid("views.tiff")
        let slide = try WholeSlide(path: path)
        #expect(try slide.geometry(for: .level(2)) == SlideGeometry(level: 2, downsample: 4, size: ImageSize(width: 75, height: 50)))
        #expect(try slide.geometry(for: .micronsPerPixel(1.0)) == SlideGeometry(level: 1, downsample: 2, size: ImageSize(width: 150, height: 100)))
        let between = try slide.geometry(for: .micronsPerPixel(1.5))
        #expect(between.level == 1 && between.downsample == 3 && between.size == ImageSize(width: 100, height: 67))
        #expect(try slide.read(CropBox(top: 10, left: 10, height: 24, width: 24), at: between).shape == [1, 3, 24, 24])
        #expect { try slide.geometry(for: .level(3)) } throws: { "\($0)".contains("3 levels, 0 to 2") }
        #expect { try slide.geometry(for: .micronsPerPixel(0.25)) } throws: { "\($0)".contains("does not enlarge") }
        let (bare, _) = try writePyramid("no-mpp.tiff", mpp: nil)
        #expect { try WholeSlide(path: bare).geometry(for: .micronsPerPixel(1)) } throws: { "\($0)".contains("--slide-level") }
    }

    /// `--normalize data` on slides measures the square at the slide's centre (the mask off here)
    /// as large as fits: the pattern's own values there, not the background around it.
    @Test func dataStatisticsOfASlideAreItsCentreSquare() throws {
        let (path, levels) = try writePyramid("statistics.tiff")
        var decoder = ImageDecoder()
        decoder.input = .slides(SlideReading(view: .level(1), tissueMask: false))
        let statistics = try BandStatistics.measure(LabeledSamples(classes: ["a"], samples: [Sample(path: path, classIndex: 0)]), decoder: decoder)
        #expect(statistics.images == 1)
        // Level 1 is 150×100: the 100² square from column 25.
        let level = levels[1]
        for band in 0..<3 {
            var values: [Double] = []
            for row in 0..<100 {
                for column in 25..<125 { values.append(Double(level.rgb[3 * (row * level.size.width + column) + band])) }
            }
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            #expect(abs(statistics.mean[band] - mean) < 1e-9 && abs(statistics.std[band] - std) < 1e-9, "band \(band)")
        }
    }

    @Test func boxesStayOnTheSlideOrCentreOnASmallerOne() {
        let size = ImageSize(width: 300, height: 200)
        #expect(SampleTransform.box(centredOn: (150, 100), side: 64, within: size) == CropBox(top: 68, left: 118, height: 64, width: 64))
        #expect(SampleTransform.box(centredOn: (2, 199), side: 64, within: size) == CropBox(top: 136, left: 0, height: 64, width: 64))
        #expect(SampleTransform.box(centredOn: (299, 0), side: 64, within: size) == CropBox(top: 0, left: 236, height: 64, width: 64))
        #expect(SampleTransform.box(centredOn: (10, 10), side: 400, within: size) == CropBox(top: -100, left: -50, height: 400, width: 400))
    }

    /// The demo's slides: the drawing in the middle 5/8, glass around it.
    func demoSlide() throws -> String {
        var set = SyntheticDataset()
        set.classes = ["circles", "stripes"]
        (set.trainPerClass, set.validationPerClass, set.width, set.height, set.slides) = (1, 1, 256, 192, true)
        let (train, _) = try set.write(to: scratch.url.appendingPathComponent("demo"))
        return train.appendingPathComponent("stripes/0000.tiff").path
    }

    @Test func trainingRegionsLandOnTissueUnlessTheMaskIsOff() throws {
        let path = try demoSlide()
        var decoder = ImageDecoder()
        func glassShare(tissueMask: Bool) throws -> Double {
            decoder.input = .slides(SlideReading(view: .level(0), tissueMask: tissueMask))
            var glass = 0
            for index in 0..<40 {
                var random = DeterministicRandom(seed: 3, epoch: 0, index: index)
                let sample = try SampleTransform.standardTraining.apply(toFileAt: path, resolution: 16, decoder: decoder, random: &random)
                #expect(sample.shape == [3, 16, 16] && sample.dtype == .uint8)
                let pixels: [UInt8] = try sample.contiguous().array()
                if pixels.allSatisfy({ $0 == 244 }) { glass += 1 }
            }
            return Double(glass) / 40
        }
        #expect(try glassShare(tissueMask: true) == 0)
        #expect(try glassShare(tissueMask: false) > 0.2)
    }

    @Test func samplesDependOnlyOnTheirRandomStream() throws {
        let path = try demoSlide()
        var decoder = ImageDecoder()
        decoder.input = .slides(SlideReading(view: .level(1)))
        func sample(_ index: Int) throws -> [UInt8] {
            var random = DeterministicRandom(seed: 1, epoch: 2, index: index)
            return try SampleTransform.standardTraining.apply(toFileAt: path, resolution: 32, decoder: decoder, random: &random).contiguous().array()
        }
        #expect(try sample(5) == sample(5))
        #expect(try sample(5) != sample(6))
    }

    @Test func evaluationTakesTheTissueCentreOrTheWholeSlideOnItsBackground() throws {
        let path = try demoSlide()
        var decoder = ImageDecoder()
        var random = DeterministicRandom(seed: 0)
        decoder.input = .slides(SlideReading(view: .level(0), evaluation: .center))
        let centre = try SampleTransform.standardEvaluation.apply(toFileAt: path, resolution: 64, decoder: decoder, random: &random)
        let slide = try WholeSlide(path: path)
        let bounds = try #require(try TissueMask(slide: slide).tissueBounds)
        let box = SampleTransform.box(centredOn: ((bounds.left + bounds.right) / 2, (bounds.top + bounds.bottom) / 2), side: 64, within: slide.levels[0].size)
        #expect(try bytes(centre) == bytes(slide.read(box, at: slide.geometry(for: .level(0))).select(dim: 0, index: 0)))

        // Level 2 is 64×48: whole, at 96 px, it sits in the middle with 24 rows of background above and below.
        decoder.input = .slides(SlideReading(view: .level(2), evaluation: .whole))
        let whole = try SampleTransform.standardEvaluation.apply(toFileAt: path, resolution: 96, decoder: decoder, random: &random)
        #expect(whole.shape == [3, 96, 96])
        let top: [UInt8] = try whole.slice(dim: 1, 0..<24).contiguous().array()
        #expect(top.allSatisfy { $0 == 255 })
        let middle = try whole.slice(dim: 1, 24..<72).slice(dim: 2, 16..<80)
        #expect(try bytes(middle) == bytes(slide.region(level: 2, x: 0, y: 0, width: 64, height: 48).select(dim: 0, index: 0)))
        // Larger than the resolution, the slide is shrunk to fit.
        let shrunk = try SampleTransform.standardEvaluation.apply(toFileAt: path, resolution: 32, decoder: decoder, random: &random)
        #expect(shrunk.shape == [3, 32, 32])
    }

    func bytes(_ tensor: Tensor) throws -> [UInt8] { try tensor.contiguous().array() }
}
