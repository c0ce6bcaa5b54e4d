import Foundation
import Testing
import Torch
@testable import HeadroomData

/// DICOM files no one here wrote (pydicom's test data, Tests/Fixtures/dicom) read as pydicom
/// reads them: modality values, MONOCHROME1 inverted, YBR as RGB.
@Suite struct DicomFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/dicom")

    struct Entry: Decodable {
        var bands: Int
        var frames: Int
        var width: Int
        var height: Int
        var lossless: Bool
        var photometric: String
        var reference: String
        var tolerance: Double
        var transfer_syntax: String
    }

    static let manifest: [String: Entry] = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
            let entries = try? JSONDecoder().decode([String: Entry].self, from: data)
        else { return [:] }
        return entries
    }()

    static let names = manifest.keys.sorted()
    let decoder = ImageDecoder()

    @Test func theManifestListsTheSyntaxesAndPhotometricsToCover() {
        let syntaxes = Set(Self.manifest.values.map(\.transfer_syntax))
        // Explicit and implicit little endian, big endian, RLE, JPEG baseline, JPEG-LS, JPEG 2000 lossless.
        for uid in ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50",
                    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90"] {
            #expect(syntaxes.contains(uid), "no fixture in \(uid)")
        }
        #expect(Self.manifest.values.contains { $0.photometric == "MONOCHROME1" })
        #expect(Self.manifest.values.contains { $0.photometric.hasPrefix("YBR") })
    }

    @Test(arguments: names)
    func readsAsPydicomDoes(name: String) throws {
        let entry = try #require(Self.manifest[name])
        let path = Self.directory.appendingPathComponent(name).path
        let facts = try decoder.facts(atPath: path)
        #expect(facts.format == "DICOM" && facts.bands == entry.bands && facts.dicom?.frames == entry.frames)
        #expect(facts.size == ImageSize(width: entry.width, height: entry.height))
        #expect(facts.dicom?.transferSyntax == entry.transfer_syntax)
        let format = try InputFormat.agree([(path, facts)])
        #expect(format.reading == .samples && format.bands == entry.bands)
        let whole: (ImageSize) -> CropBox = { CropBox(top: 0, left: 0, height: $0.height, width: $0.width) }
        let bytes = try decoder.readFile(atPath: path)
        guard entry.frames == 1 else {
            #expect { try decoder.decodeSamples(bytes, source: path, format: format, region: whole) } throws: { error in
                "\(error)".contains("multi-frame") && "\(error)".contains("\(entry.frames) frames")
            }
            return
        }
        let reference = try NumPyReference(contentsOf: Self.directory.appendingPathComponent(entry.reference))
        let samples = try decoder.decodeSamples(bytes, source: path, format: format, region: whole)
        #expect(samples.shape == [1] + reference.shape)
        let values = try samples.array(of: Float.self)
        let worst = zip(values, reference.values).map { abs(Double($0) - Double($1)) }.max() ?? .infinity
        #expect(worst <= entry.tolerance, "\(name): differs from pydicom by up to \(worst)")
        if entry.lossless { #expect(values == reference.values) }
    }

    /// Every cut of a file is refused (or, cut after its pixel data, read as the whole), never a crash.
    @Test(arguments: names.filter { manifest[$0]?.frames == 1 })
    func cutFilesAreRefused(name: String) throws {
        let path = Self.directory.appendingPathComponent(name).path
        let bytes = try decoder.readFile(atPath: path)
        let facts = try decoder.facts(atPath: path)
        let format = try InputFormat.agree([(path, facts)])
        let whole: (ImageSize) -> CropBox = { CropBox(top: 0, left: 0, height: $0.height, width: $0.width) }
        let complete = try decoder.decodeSamples(bytes, source: path, format: format, region: whole).array(of: Float.self)
        for cut in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 40)) {
            do {
                let samples = try decoder.decodeSamples(Array(bytes.prefix(cut)), source: path, format: format, region: whole)
                #expect(try samples.array(of: Float.self) == complete, "\(name) cut at \(cut) read other values")
            } catch {
                #expect(error is ImageDecodeError, "\(name) cut at \(cut): \(error)")
            }
        }
    }
}
