import Foundation
import Testing
import TestSupport
@testable import HeadroomData

/// Planning reads a file's first bytes where its header comes first, and says the same as
/// from the whole file.
@Suite("Header facts from the start of a file")
struct HeaderFactsTests {
    static let fixtures = try! FileManager.default.contentsOfDirectory(atPath: ImageFixtures.directory.path)
        .filter { [".jpg", ".png", ".webp", ".tif", ".bmp"].contains(where: $0.hasSuffix) }.sorted()

    /// Every fixture (orientations, a PNG's eXIf and a WebP's EXIF chunk, truncated and
    /// oversized files), each cut short at several lengths: a codec that answered from too
    /// few bytes, or a chunk it could not see, would differ from the whole file.
    @Test(arguments: fixtures)
    func aHeaderReadAloneSaysWhatTheWholeFileSays(name: String) throws {
        let decoder = ImageDecoder()
        let path = ImageFixtures.path(name)
        func facts(_ headerBytes: Int) -> ImageDecoder.HeaderFacts? {
            var facts = try? decoder.headerFacts(atPath: path, minimumSize: .shorterSide(8), headerBytes: headerBytes)
            facts?.readWholeFile = false
            return facts
        }
        let whole = facts(.max)
        for headerBytes in [16, 64, 256, 1024, 4096] {
            #expect(facts(headerBytes) == whole, "\(name), first \(headerBytes) bytes")
        }
    }

    /// A JPEG's and a PNG's header come before their pixels: 4 KiB of a 1024 × 768 image say
    /// it all. A WebP's EXIF chunk may come last: it is read whole.
    @Test(arguments: [SyntheticDataset.FileFormat.jpeg, .png, .webp])
    func onlyTheHeaderIsReadWhereItComesFirst(format: SyntheticDataset.FileFormat) throws {
        let directory = try TemporaryDirectory()
        var set = SyntheticDataset()
        set.classes = ["circles", "stripes"]
        (set.trainPerClass, set.validationPerClass) = (1, 1)
        (set.width, set.height, set.format) = (1024, 768, format)
        let (train, _) = try set.write(to: URL(fileURLWithPath: directory.path))
        let path = try #require(try ImageFolder(root: train.path).scan().samples.first?.path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try #require(size > 4096)
        let facts = try ImageDecoder().headerFacts(atPath: path, minimumSize: .fullResolution, headerBytes: 4096)
        #expect(facts.readWholeFile == (format == .webp))
        #expect(facts.orientedSize == ImageSize(width: 1024, height: 768))
        let rows = format == .png ? (1 + 1024 * 3) * 768 : 0  // a PNG's inflated rows
        #expect(facts.decodingBytes >= size + 1024 * 768 * 3 + rows)
    }
}
