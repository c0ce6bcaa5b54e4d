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

    @Option(help: maxImagePixelsHelp, transform: pixelLimit(argument:))
    var maxImagePixels: Int? = ImageDecoder.defaultPixelLimit

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one image file or folder") }
        if let bands, InputFormat.selection(parsing: bands) == nil {
            throw ValidationError("--bands \(bands) is not a list of band numbers from 1, e.g. 4,3,2")
        }
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
                    let (inspection, samples) = try ImageInspection.inspect(path: file, decoder: decoder, selection: selection)
                    if let saveNpy { try save(samples, of: file, to: saveNpy, several: files.count > 1) }
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
        if let dicom = facts.dicom {
            lines.append("  DICOM \(dicom.modality.isEmpty ? "" : dicom.modality + " ")\(dicom.photometric), \(dicom.transferSyntaxName) (\(dicom.transferSyntax)), "
                + "\(dicom.bitsStored) bits stored, values = stored × \(number(dicom.rescaleSlope)) + \(number(dicom.rescaleIntercept))")
        }
        lines.append("  fed as \(inspection.input)")
        for (index, band) in inspection.bands.enumerated() {
            let number_ = inspection.input.selection.map { $0[index] + 1 } ?? index + 1
            lines.append("  band \(number_): min \(number(band.min))  max \(number(band.max))  mean \(number(band.mean))  std \(number(band.std))")
        }
        return lines
    }
}
