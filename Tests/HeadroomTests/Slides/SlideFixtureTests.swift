import Foundation
import Testing
import TestSupport
import Torch
@testable import HeadroomData

/// Slides written by tifffile (generic pyramidal TIFF with JPEG and deflate tiles, an Aperio
/// SVS; Scripts/make_slide_fixtures.py) read as openslide-python reads them: the same levels,
/// downsamples and resolution, and every reference region the same pixels.
@Suite struct SlideFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/slides")

    struct Region: Decodable {
        var name: String
        var level: Int
        var x: Int
        var y: Int
        var w: Int
        var h: Int
        var npy: String
    }

    struct Slide: Decodable {
        var file: String
        var vendor: String
        var level_dimensions: [[Int]]
        var level_downsamples: [Double]
        var mpp_x: Double?
        var mpp_y: Double?
        var regions: [Region]
    }

    struct Manifest: Decodable { var slides: [Slide] }

    static let slides: [Slide] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return manifest.slides
    }()

    static let regions: [String] = slides.flatMap { slide in slide.regions.map { "\(slide.file) \($0.name)" } }

    func path(_ name: String) -> String { Self.directory.appendingPathComponent(name).path }

    @Test func theFixturesCoverJPEGDeflateAndAVendorFormat() {
        #expect(Self.slides.map(\.file).sorted() == ["aperio.svs", "generic-deflate.tiff", "generic-jpeg.tiff"])
        #expect(Self.regions.count >= 24)
    }

    @Test(arguments: slides.map(\.file))
    func levelsAndResolutionAreOpenSlidePythonsOwn(file: String) throws {
        let expected = try #require(Self.slides.first { $0.file == file })
        let slide = try WholeSlide(path: path(file))
        #expect(slide.vendor == expected.vendor)
        #expect(slide.levels.map { [$0.size.width, $0.size.height] } == expected.level_dimensions)
        for (level, downsample) in zip(slide.levels, expected.level_downsamples) { #expect(abs(level.downsample - downsample) < 1e-9) }
        #expect(slide.micronsPerPixel?.x == expected.mpp_x && slide.micronsPerPixel?.y == expected.mpp_y)
        #expect(SlideFiles.isSlide(path(file)))
    }

    /// Opaque pixels exactly as read_region gives them; transparent ones (outside the level) the
    /// background, white; partly transparent ones read_region's colour over white, within one level.
    @Test(arguments: regions)
    func regionsEqualReadRegion(named: String) throws {
        let parts = named.split(separator: " ").map(String.init)
        let slideEntry = try #require(Self.slides.first { $0.file == parts[0] })
        let region = try #require(slideEntry.regions.first { $0.name == parts[1] })
        let reference = try NumPyReference(contentsOf: Self.directory.appendingPathComponent(region.npy))
        #expect(reference.shape == [region.h, region.w, 4])
        let slide = try WholeSlide(path: path(slideEntry.file))
        let pixels = try slide.region(level: region.level, x: region.x, y: region.y, width: region.w, height: region.h)
        #expect(pixels.shape == [1, 3, region.h, region.w])
        let ours: [UInt8] = try pixels.select(dim: 0, index: 0).permuted([1, 2, 0]).contiguous().array()
        var worst = 0.0
        var opaque = 0
        for pixel in 0..<(region.w * region.h) {
            let alpha = Double(reference.values[4 * pixel + 3])
            for channel in 0..<3 {
                let colour = Double(reference.values[4 * pixel + channel])
                let expected = alpha == 255 ? colour : colour * alpha / 255 + 255 * (255 - alpha) / 255
                worst = max(worst, abs(Double(ours[3 * pixel + channel]) - expected) - (alpha == 255 || alpha == 0 ? 0 : 1))
            }
            if alpha == 255 { opaque += 1 }
        }
        #expect(worst <= 0, "\(named): off by \(worst) beyond the bound")
        #expect(opaque > 0)
    }

    /// `inspect --json` names who reads each level: Aperio's whole-downsample levels are ours, its
    /// 16.09× level OpenSlide's.
    @Test func inspectNamesWhoReadsEachLevel() throws {
        let facts = SlideFacts(slide: try WholeSlide(path: path("aperio.svs")), mask: nil, region: nil)
        #expect(facts.levels.map(\.reader) == ["headroom", "headroom", "openslide"])
        let openSlide = SlideFacts(slide: try WholeSlide(path: path("aperio.svs"), decoder: .openSlide), mask: nil, region: nil)
        #expect(openSlide.levels.map(\.reader) == ["openslide", "openslide", "openslide"])
    }

    @Test func aTruncatedSlideIsRefusedNotRead() {
        #expect(throws: ImageDecodeError.self) { try WholeSlide(path: path("truncated.tiff")) }
        #expect(throws: ImageDecodeError.self) { try ImageInspection.inspectSlide(path: path("truncated.tiff"), region: nil) }
    }

    /// A tile whose offset lies past the end of the file fails the regions that touch it, by name,
    /// and only those: Headroom's tile reader keeps reading the slide's other regions.
    @Test func aLyingTileFailsItsRegionsOnly() throws {
        let slide = try WholeSlide(path: path("lying.tiff"))
        #expect(slide.readsTilesItself(level: 0))
        _ = try slide.region(level: 0, x: 0, y: 0, width: 128, height: 128)
        #expect { try slide.region(level: 0, x: 272, y: 144, width: 32, height: 32) } throws: { error in
            "\(error)".contains("tile 9") && "\(error)".contains("past the end of the file")
        }
        #expect(!slide.isBroken)
        #expect(try slide.region(level: 0, x: 0, y: 0, width: 128, height: 128).shape == [1, 3, 128, 128])
    }

    /// A slide cut short while it is open (a copy still being written, a full disk) fails the
    /// regions whose tiles are gone with a clear error, never a fault, and still reads the rest.
    @Test func aSlideCutWhileOpenFailsOnlyTheLostTiles() throws {
        let directory = try TemporaryDirectory("headroom-cut-slide")
        let copy = directory.url.appendingPathComponent("slide.tiff")
        try FileManager.default.copyItem(atPath: path("generic-jpeg.tiff"), toPath: copy.path)
        let slide = try WholeSlide(path: copy.path)
        #expect(slide.readsTilesItself(level: 0))
        let before: [UInt8] = try slide.region(level: 0, x: 0, y: 0, width: 64, height: 64).contiguous().array()
        let handle = try FileHandle(forWritingTo: copy)
        try handle.truncate(atOffset: 40_000)
        try handle.close()
        let size = slide.levels[0].size
        #expect { try slide.region(level: 0, x: size.width - 64, y: size.height - 64, width: 64, height: 64) } throws: { error in
            (error as? ImageDecodeError)?.kind == .truncated && "\(error)".contains("ends early")
        }
        #expect(try slide.region(level: 0, x: 0, y: 0, width: 64, height: 64).contiguous().array() == before)
    }

    /// Through OpenSlide the same tile fails the region too, and then every read of that handle,
    /// so the open-slide cache opens the slide again and its other regions still read.
    @Test func aHandleOpenSlideBrokeIsReopened() throws {
        let lying = path("lying.tiff")
        let slides = OpenSlides(decoder: .openSlide)
        let cached = try slides.open(lying)
        #expect(!cached.slide.readsTilesItself(level: 0))
        #expect { try cached.slide.region(level: 0, x: 272, y: 144, width: 32, height: 32) } throws: { error in
            "\(error)".contains("TIFFFillTile") && "\(error)".contains("tile 9")
        }
        #expect(cached.slide.isBroken)
        #expect(throws: ImageDecodeError.self) { try cached.slide.region(level: 0, x: 0, y: 0, width: 128, height: 128) }
        let reopened = try slides.open(lying)
        #expect(reopened !== cached && !reopened.slide.isBroken)
        #expect(try reopened.slide.region(level: 1, x: 0, y: 0, width: 388, height: 277).shape == [1, 3, 277, 388])
    }

    /// Headroom's tile reader and OpenSlide give the same bytes for regions anywhere on every level
    /// it reads (across tiles, over edge tiles, partly and wholly outside the level), and it reads
    /// the levels it should: those whose downsample is whole (level 0 always).
    @Test(arguments: slides.map(\.file))
    func ownTileReadsEqualOpenSlides(file: String) throws {
        let ours = try WholeSlide(path: path(file))
        let openSlide = try WholeSlide(path: path(file), decoder: .openSlide)
        // Every fixture's codec is one the reader decodes: a level is its own exactly when its downsample is whole.
        for (index, level) in ours.levels.enumerated() {
            #expect(ours.readsTilesItself(level: index) == (level.downsample == level.downsample.rounded()), "\(file) level \(index)")
        }
        #expect(!openSlide.levels.indices.contains(where: openSlide.readsTilesItself(level:)))
        var random = DeterministicRandom(seed: 11)
        for level in ours.levels.indices where ours.readsTilesItself(level: level) {
            let size = ours.levels[level].size
            let downsample = Int(ours.levels[level].downsample.rounded())
            for _ in 0..<12 {
                let width = 1 + Int(random.nextUnitInterval() * Double(min(300, size.width + 40)))
                let height = 1 + Int(random.nextUnitInterval() * Double(min(300, size.height + 40)))
                let left = Int(random.nextUnitInterval() * Double(size.width + 60)) - 30 - width / 2
                let top = Int(random.nextUnitInterval() * Double(size.height + 60)) - 30 - height / 2
                let (x, y) = (left * downsample, top * downsample)
                let expected: [UInt8] = try openSlide.region(level: level, x: x, y: y, width: width, height: height).contiguous().array()
                let read: [UInt8] = try ours.region(level: level, x: x, y: y, width: width, height: height).contiguous().array()
                #expect(read == expected, "\(file) level \(level) at \(x),\(y) \(width)×\(height)")
            }
        }
    }

    @Test func theTissueMaskFindsTheStainedBlobsNotTheGlass() throws {
        for file in Self.slides.map(\.file) {
            let slide = try WholeSlide(path: path(file))
            let mask = try TissueMask(slide: slide)
            #expect(mask.size == slide.levels.last!.size)
            #expect(mask.tissueFraction > 0.15 && mask.tissueFraction < 0.45, "\(file): \(mask.tissueFraction)")
            #expect(mask.threshold > 20, "\(file): Otsu's threshold \(mask.threshold)")
            // The corners are glass.
            let corners = [0, mask.size.width - 1, (mask.size.height - 1) * mask.size.width, mask.size.pixelCount - 1].map(Int32.init)
            #expect(Set(corners).isDisjoint(with: mask.tissue), "\(file)")
            // Every tissue point drawn lies in a mask cell whose level-0 pixels are mostly stained.
            var random = DeterministicRandom(seed: 7)
            let side = Int(mask.downsample.rounded(.up))
            for _ in 0..<20 {
                let point = try #require(mask.randomTissuePoint(using: &random))
                let (left, top) = (Int((point.x / mask.downsample).rounded(.down) * mask.downsample), Int((point.y / mask.downsample).rounded(.down) * mask.downsample))
                let cell: [UInt8] = try slide.region(level: 0, x: left, y: top, width: side, height: side).contiguous().array()
                let stained = (0..<(side * side)).filter { cell[$0] != cell[side * side + $0] || cell[$0] != cell[2 * side * side + $0] }
                #expect(stained.count * 2 > side * side, "\(file) at \(point)")
            }
        }
    }

    @Test func otsuSplitsTwoClustersBetweenThem() {
        var histogram = [Int](repeating: 0, count: 256)
        histogram[10] = 500
        histogram[12] = 300
        histogram[90] = 200
        histogram[100] = 400
        let threshold = TissueMask.otsu(histogram)
        #expect(threshold >= 12 && threshold < 90)
    }

    @Test func imagesThatAreNotPyramidsStayImages() throws {
        let directory = try TemporaryDirectory("headroom-not-slides")
        let single = directory.url.appendingPathComponent("flat.tif")
        try Data(SampleTIFF.encode([Double](repeating: 7, count: 3 * 40 * 30), bands: 3, height: 30, width: 40, type: .uint8)).write(to: single)
        #expect(!SlideFiles.isSlide(single.path))
        let jpeg = directory.url.appendingPathComponent("photo.jpg")
        try Data(ImageEncoder.encode(DecodedImage(width: 8, height: 8, pixels: [UInt8](repeating: 90, count: 192)), as: .jpeg(quality: 90))).write(to: jpeg)
        #expect(!SlideFiles.isSlide(jpeg.path))
        #expect(!SlideFiles.isSlide(jpeg.path, slideOptionsGiven: true))
    }
}
