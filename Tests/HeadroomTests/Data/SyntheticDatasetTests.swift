import Foundation
import TestSupport
import Headroom
import Testing

@Suite("SyntheticDataset")
struct SyntheticDatasetTests {
    func dataset(seed: UInt64 = 3, format: SyntheticDataset.FileFormat = .mixed) -> SyntheticDataset {
        var dataset = SyntheticDataset()
        dataset.seed = seed
        dataset.trainPerClass = 4
        dataset.validationPerClass = 1
        dataset.width = 48
        dataset.height = 36
        dataset.format = format
        return dataset
    }

    /// Every image under `root`, by relative path, with its bytes (not the hidden marker).
    func files(under root: String) throws -> [String: [UInt8]] {
        let paths = try #require(FileManager.default.subpathsOfDirectory(atPath: root) as [String]?)
        var files: [String: [UInt8]] = [:]
        for path in paths where !path.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            files[path] = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/" + path)))
        }
        return files
    }

    @Test("the same seed writes the same bytes, whatever the thread count; another seed does not")
    func determinism() throws {
        let directory = try TemporaryDirectory()
        var single = dataset()
        single.threads = 1
        try single.write(to: URL(fileURLWithPath: directory.path + "/a"))
        var parallel = dataset()
        parallel.threads = 3
        try parallel.write(to: URL(fileURLWithPath: directory.path + "/b"))
        try dataset(seed: 4).write(to: URL(fileURLWithPath: directory.path + "/c"))

        let a = try files(under: directory.path + "/a")
        #expect(a.count == SyntheticDataset.classNames.count * 5)
        #expect(a == (try files(under: directory.path + "/b")))
        let c = try files(under: directory.path + "/c")
        #expect(Set(c.keys) == Set(a.keys))
        #expect(a.keys.allSatisfy { a[$0] != c[$0] }, "a file came out the same under another seed")
    }

    @Test("the layout is ImageFolder's, every fourth image a PNG, and every image decodes at its size")
    func layout() throws {
        let directory = try TemporaryDirectory()
        let (train, validation) = try dataset().write(to: URL(fileURLWithPath: directory.path))
        let samples = try ImageFolder(root: train.path).scan()
        #expect(samples.classes == SyntheticDataset.classNames)
        #expect(samples.samples.map { URL(fileURLWithPath: $0.path).lastPathComponent }.prefix(4)
            == ["0000.jpg", "0001.jpg", "0002.jpg", "0003.png"])
        for sample in samples.samples + (try ImageFolder(root: validation.path).scan()).samples {
            #expect(try ImageDecoder().decode(fileAtPath: sample.path).size == ImageSize(width: 48, height: 36))
        }
    }

    @Test("each format writes its own files", arguments: [
        (SyntheticDataset.FileFormat.jpeg, "jpg"), (.png, "png"), (.webp, "webp"),
    ])
    func format(format: SyntheticDataset.FileFormat, fileExtension: String) throws {
        let directory = try TemporaryDirectory()
        let (train, _) = try dataset(format: format).write(to: URL(fileURLWithPath: directory.path))
        let samples = try ImageFolder(root: train.path).scan().samples
        #expect(samples.count == SyntheticDataset.classNames.count * 4)
        #expect(samples.allSatisfy { $0.path.hasSuffix("." + fileExtension) })
    }

    @Test("every image has a drawn foreground, not only background and noise")
    func foregroundIsDrawn() throws {
        // The share of pixels far (L1 > 100) from the image's median colour: a shape covers part of the
        // frame, a texture about half of it; the foreground differs from the background by 60-110 in
        // every channel, the noise by 20 at most. An image of background alone would score near zero.
        let directory = try TemporaryDirectory()
        var set = dataset(format: .png)
        set.width = 96
        set.height = 72
        let (train, _) = try set.write(to: URL(fileURLWithPath: directory.path))
        for sample in try ImageFolder(root: train.path).scan().samples {
            let image = try ImageDecoder().decode(fileAtPath: sample.path)
            let count = image.width * image.height
            let median = (0..<3).map { channel in
                stride(from: channel, to: image.pixels.count, by: 3).map { Int(image.pixels[$0]) }.sorted()[count / 2]
            }
            var far = 0
            for i in stride(from: 0, to: image.pixels.count, by: 3) {
                let distance = (0..<3).reduce(0) { $0 + abs(Int(image.pixels[i + $1]) - median[$1]) }
                if distance > 100 { far += 1 }
            }
            let share = Double(far) / Double(count)
            #expect(share > 0.02 && share < 0.98, "\(sample.path): \(share) of the pixels stand out")
        }
    }
}

@Suite("SyntheticDataset over an existing folder")
struct SyntheticDatasetExistingFilesTests {
    @Test("writing again keeps the set; another set's files stop it before anything is written")
    func otherFilesAreRefused() throws {
        let directory = try TemporaryDirectory()
        let root = URL(fileURLWithPath: directory.path)
        var set = SyntheticDataset()
        set.trainPerClass = 2
        set.validationPerClass = 1
        set.width = 16
        set.height = 12
        try set.write(to: root)
        let first = root.appendingPathComponent("train/circles/0000.jpg")
        let written = try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as? Date
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 0)], ofItemAtPath: first.path)
        try set.write(to: root)  // the same set: nothing foreign, nothing rewritten
        #expect(written != nil)
        #expect(try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as? Date == Date(timeIntervalSince1970: 0))

        var older = set
        older.classes = ["circles"]
        older.trainPerClass = 3  // circles/0002.jpg is not part of `set`
        let other = try TemporaryDirectory()
        try older.write(to: URL(fileURLWithPath: other.path))
        let error = try #require(throws: SyntheticDatasetError.self) { try set.write(to: URL(fileURLWithPath: other.path)) }
        #expect("\(error)".contains("train/circles/0002.jpg"))
        #expect(!FileManager.default.fileExists(atPath: other.path + "/train/checkers"), "nothing was written")
    }

    @Test("a set of other settings (or an older drawing) under the same names is drawn again, not mixed in")
    func otherSettingsAreDrawnAgain() throws {
        let directory = try TemporaryDirectory()
        let root = URL(fileURLWithPath: directory.path)
        var set = SyntheticDataset()
        set.classes = ["circles", "stripes"]
        set.trainPerClass = 2
        set.validationPerClass = 1
        set.width = 16
        set.height = 12
        try set.write(to: root)
        var reseeded = set
        reseeded.seed = 7
        try reseeded.write(to: root)
        let fresh = try TemporaryDirectory()
        try reseeded.write(to: URL(fileURLWithPath: fresh.path))
        for name in ["train/circles/0000.jpg", "train/stripes/0001.jpg", "val/circles/0000.jpg"] {
            let here = try Data(contentsOf: root.appendingPathComponent(name))
            #expect(here == (try Data(contentsOf: URL(fileURLWithPath: fresh.path).appendingPathComponent(name))), "\(name)")
        }
    }
}
