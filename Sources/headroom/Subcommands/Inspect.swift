import ArgumentParser
import Foundation
import Headroom
import Torch

/// `headroom inspect`: what the network will be fed, before training.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the network is fed from images, before normalisation: size, bands, sample type, value range, per-band mean and std.",
        discussion: """
            Each image is read as training reads a set of such images: 8-bit photos as uint8 RGB (grey as one \
            band), deeper or multi-band TIFF and PNG at full precision, DICOM as modality values (stored × \
            RescaleSlope + RescaleIntercept, MONOCHROME1 inverted). --save-npy writes those values as float32 \
            [bands, height, width] (numpy.load reads them): one file for one image, a folder of NAME.npy for several.

            Whole slides (.svs, .ndpi, .mrxs, .scn, .vms, .bif, pyramidal TIFF) are read through OpenSlide: \
            their vendor, levels (size, downsample), microns per pixel and tissue share are shown, and \
            --level N --region X,Y,W,H reads a region with OpenSlide's conventions (location in level-0 \
            pixels, size in the level's pixels; outside the scan reads as the slide's background). \
            --level alone reads the whole level, up to 64 Mpx.

            Exit status: 0 when every image was read; 1 when some could not be; 64 for invalid options.
            """
    )

    @Argument(help: "Image files, or folders of images.")
    var inputs: [String] = []

    @Option(help: "The bands to show, in order, numbered from 1 (as train's --bands).")
    var bands: String?

    @Flag(help: "Print a JSON array of {path, facts, input, bands: [{min, max, mean, std}]}.")
    var json = false

    @Option(help: "Write the values as float32 .npy: a file for one image, a folder for several.")
    var saveNpy: String?

    @Option(help: "Whole slides: the level to read (0 is full resolution).")
    var level: Int?

    @Option(help: "Whole slides: the region X,Y,W,H to read at --level: X,Y in level-0 pixels, W,H in the level's.")
    var region: String?

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one image file or folder") }
        if let bands, InputFormat.selection(parsing: bands) == nil {
            throw ValidationError("--bands \(bands) is not a list of band numbers from 1, e.g. 4,3,2")
        }
        if let level, level < 0 { throw ValidationError("--level must be 0 or more (got \(level))") }
        if let region, SlideFacts.Region.parsing(region, level: 0) == nil {
            throw ValidationError("--region \(region) is not X,Y,W,H with a positive width and height (e.g. 1000,2000,512,512)")
        }
    }

    /// A slide's inspection: the region asked for, the whole level for --level alone, or only its facts.
    private func inspectSlide(_ file: String, selection: [Int]?) throws -> (ImageInspection, Tensor?) {
        var asked = region.flatMap { SlideFacts.Region.parsing($0, level: level ?? 0) }
        if asked == nil, let level {
            let slide = try WholeSlide(path: file)
            guard slide.levels.indices.contains(level) else {
                throw ValidationError("\(PathNames.display(file)) has \(slide.levels.count) levels, 0 to \(slide.levels.count - 1); --level \(level)")
            }
            let size = slide.levels[level].size
            guard size.pixelCount <= ImageInspection.largestWholeLevel else {
                throw ValidationError("\(PathNames.display(file)): level \(level) is \(size.width)×\(size.height); read part of it with --region X,Y,W,H")
            }
            asked = SlideFacts.Region(level: level, x: 0, y: 0, width: size.width, height: size.height)
        }
        if saveNpy != nil && asked == nil {
            throw ValidationError("\(PathNames.display(file)) is a whole slide: give --level (and --region) to read pixels for --save-npy")
        }
        return try ImageInspection.inspectSlide(path: file, region: asked, selection: selection)
    }

    func run() throws {
        var failed = false
        try reportingFailures(of: "inspect") {
            let files = try imageFiles(in: inputs, command: "inspect")
            let decoder = ImageDecoder(pixelLimit: maxImagePixels)
            let selection = bands.flatMap(InputFormat.selection(parsing:))
            var inspections: [ImageInspection] = []
            for file in files {
                do {
                    let slideOptions = level != nil || region != nil
                    let (inspection, samples) = SlideFiles.isSlide(file, slideOptionsGiven: slideOptions)
                        ? try inspectSlide(file, selection: selection)
                        : try ImageInspection.inspect(path: file, decoder: decoder, selection: selection)
                    if slideOptions && inspection.slide == nil {
                        throw ValidationError("\(PathNames.display(file)) is not a whole slide OpenSlide reads; --level and --region are for slides")
                    }
                    if let saveNpy, let samples { try save(samples, of: file, to: saveNpy, several: files.count > 1) }
                    if !json { print(Self.lines(inspection).joined(separator: "\n")) }
                    inspections.append(inspection)
                } catch {
                    printError("headroom inspect: \(error)")
                    failed = true
                }
            }
            if json { print(try jsonText(inspections)) }
        }
        if failed { throw ExitCode.failure }
    }

    private func save(_ samples: Tensor, of file: String, to destination: String, several: Bool) throws {
        var url = URL(fileURLWithPath: destination)
        if several {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            url.appendPathComponent(URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent + ".npy")
        }
        let bytes = NumPyFile.float32(try samples.contiguous().array(of: Float.self), shape: samples.shape)
        try AtomicFileWriter.write([Data(bytes)], to: url)
    }

    static func lines(_ inspection: ImageInspection) -> [String] {
        let facts = inspection.facts
        func number(_ value: Double) -> String { String(format: "%.6g", value) }
        var header = "\(PathNames.display(inspection.path)): \(facts.format) \(facts.size.width)×\(facts.size.height), "
            + "\(facts.imageBands) band\(facts.imageBands == 1 ? "" : "s") of \(facts.sampleType.rawValue) (\(facts.bitsPerSample) bits)"
        if facts.alphaBand != nil { header += " + alpha (dropped)" }
        var lines = [header]
        if let slide = inspection.slide { return [header] + slideLines(slide, bands: inspection) }
        if let dicom = facts.dicom {
            lines.append("  DICOM \(dicom.modality.isEmpty ? "" : dicom.modality + " ")\(dicom.photometric), \(dicom.transferSyntaxName) (\(dicom.transferSyntax)), "
                + "\(dicom.bitsStored) bits stored, values = stored × \(number(dicom.rescaleSlope)) + \(number(dicom.rescaleIntercept))")
        }
        lines.append("  fed as \(inspection.input)")
        return lines + bandLines(inspection)
    }

    static func bandLines(_ inspection: ImageInspection) -> [String] {
        func number(_ value: Double) -> String { String(format: "%.6g", value) }
        return inspection.bands.enumerated().map { index, band in
            let number_ = inspection.input.selection.map { $0[index] + 1 } ?? index + 1
            return "  band \(number_): min \(number(band.min))  max \(number(band.max))  mean \(number(band.mean))  std \(number(band.std))"
        }
    }

    /// A slide's pyramid, resolution and tissue, then the region's bands.
    static func slideLines(_ slide: SlideFacts, bands inspection: ImageInspection) -> [String] {
        func number(_ value: Double) -> String { String(format: "%.6g", value) }
        var lines = ["  whole slide (\(slide.vendor), OpenSlide \(slide.openSlideVersion ?? "?")), \(slide.levels.count) level\(slide.levels.count == 1 ? "" : "s"):"]
        for (index, level) in slide.levels.enumerated() {
            let mpp = slide.mppX.map { ", \(number($0 * level.downsample)) µm/px" } ?? ""
            let reader = level.reader == "headroom" ? "tiles read by Headroom" : "read by OpenSlide"
            lines.append("    level \(index): \(level.width)×\(level.height), downsample \(number(level.downsample))\(mpp), \(reader)")
        }
        lines.append("  " + [
            slide.mppX.map { "\(number($0))×\(number(slide.mppY ?? $0)) µm per level-0 pixel" } ?? "no microns per pixel recorded (--slide-mpp cannot be used)",
            slide.objectivePower.map { "\(number($0))× objective" },
            "background #\(slide.background)",
        ].compactMap { $0 }.joined(separator: ", "))
        if let fraction = slide.tissueFraction, let threshold = slide.tissueThreshold {
            lines.append("  tissue: \(String(format: "%.1f", 100 * fraction))% of the thumbnail (saturation above \(threshold), Otsu)")
        }
        if let region = slide.region {
            lines.append("  region: level \(region.level), x \(region.x), y \(region.y) (level 0), \(region.width)×\(region.height) (level \(region.level) pixels), fed as \(inspection.input)")
        }
        return lines + bandLines(inspection)
    }
}
