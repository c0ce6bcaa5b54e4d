import Foundation
import Headroom
import TestSupport
import Testing
@testable import HeadroomData

@Suite("ImageFolder follows torchvision's rules")
struct ImageFolderTests {
    /// A dataset exercising every ordering and filtering rule at once.
    func makeDataset() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("root/zebra/a.jpg")
        try directory.write("root/zebra/B.JPG")                // upper case sorts first, extension matched in any case
        try directory.write("root/zebra/notes.txt")            // not an image
        try directory.write("root/zebra/.hidden.jpg")          // hidden file
        try directory.write("root/zebra/.git/h.jpg")           // hidden folder
        try directory.write("root/zebra/a/1.jpg")
        try directory.write("root/zebra/a-b/2.jpg")            // "a-b" sorts before "a/deep": '-' < '/'
        try directory.write("root/zebra/a/deep/3.png")
        try directory.link("root/zebra/a/loop", to: "..")      // loops back to zebra
        try directory.link("root/zebra/a/deep/up", to: "../..")
        try directory.write("root/banana/b.jpg")
        try directory.write("root/banana/a.jpeg")
        try directory.write("outside/o.jpg")
        try directory.link("root/banana/linked", to: directory.path + "/outside")
        try directory.write("elsewhere/c1.PNG")
        try directory.link("root/cherry", to: directory.path + "/elsewhere")  // a class folder that is a link
        try directory.write("root/Apple/x.png")
        try directory.write("root/.hiddenclass/h.jpg")
        try directory.write("root/readme.jpg")                 // files at the root are not classes
        try directory.link("root/zebra/broken.jpg", to: directory.path + "/nowhere.jpg")
        return directory
    }

    @Test("classes, indices and sample order match torchvision's make_dataset")
    func scanOrder() throws {
        let directory = try makeDataset()
        let root = directory.path + "/root"
        let dataset = try ImageFolder(root: root).scan()

        #expect(dataset.classes == ["Apple", "banana", "cherry", "zebra"])
        #expect(dataset.classToIndex == ["Apple": 0, "banana": 1, "cherry": 2, "zebra": 3])
        let expected: [(String, Int)] = [
            ("Apple/x.png", 0),
            ("banana/a.jpeg", 1), ("banana/b.jpg", 1), ("banana/linked/o.jpg", 1),
            ("cherry/c1.PNG", 2),
            ("zebra/B.JPG", 3), ("zebra/a.jpg", 3), ("zebra/a/1.jpg", 3), ("zebra/a-b/2.jpg", 3),
            ("zebra/a/deep/3.png", 3),
        ]
        #expect(dataset.samples == expected.map { Sample(path: root + "/" + $0.0, classIndex: $0.1) })
    }

    @Test("a trailing slash on the root does not change the paths")
    func trailingSlash() throws {
        let directory = try makeDataset()
        let plain = try ImageFolder(root: directory.path + "/root").scan()
        let slashed = try ImageFolder(root: directory.path + "/root//").scan()
        #expect(plain == slashed)
    }

    @Test("extra extensions are honoured, case-insensitively")
    func customExtensions() throws {
        let directory = try TemporaryDirectory()
        try directory.write("root/a/x.WebP")
        try directory.write("root/a/y.jpg")
        let dataset = try ImageFolder(root: directory.path + "/root", extensions: ["webp"]).scan()
        #expect(dataset.samples.map(\.path) == [directory.path + "/root/a/x.WebP"])
    }

    @Test("every format the decoder reads is found by default, in any case")
    func defaultExtensions() throws {
        let directory = try TemporaryDirectory()
        let names = ["a.BMP", "b.JPEG", "c.Jpg", "d.PNG", "e.TIF", "f.Tiff", "g.WebP", "h.gif", "i.txt"]
        for name in names { try directory.write("root/a/\(name)") }
        let dataset = try ImageFolder(root: directory.path + "/root").scan()
        #expect(dataset.samples.map(\.path) == names.dropLast(2).map { directory.path + "/root/a/" + $0 })
    }

    @Test("class folders without images are named in the error")
    func emptyClasses() throws {
        let directory = try TemporaryDirectory()
        try directory.write("root/a/x.jpg")
        try directory.write("root/b/notes.txt")
        try directory.makeDirectory("root/c")
        let root = directory.path + "/root"
        let error = try #require(throws: DatasetError.self) { try ImageFolder(root: root).scan() }
        #expect(error == .emptyClasses(root: root, classes: ["b", "c"], extensions: ImageFolder.defaultExtensions))
        #expect(error.description.contains("class folders b, c"))
    }

    @Test("a root without class folders, and a missing root, are errors")
    func emptyRoot() throws {
        let directory = try TemporaryDirectory()
        try directory.write("root/image.jpg")
        try directory.makeDirectory("root/.cache")
        let root = directory.path + "/root"
        #expect(throws: DatasetError.noClassFolders(root: root)) { try ImageFolder(root: root).scan() }
        let missing = directory.path + "/missing"
        #expect(throws: DatasetError.notADirectory(path: missing)) { try ImageFolder(root: missing).scan() }
    }

    @Test("classes sort by code point, not by Swift's Unicode-aware order")
    func codePointOrder() throws {
        let directory = try TemporaryDirectory()
        for name in ["éclair", "zebra", "Zulu", "e\u{301}tude", "10", "9"] {
            try directory.write("root/\(name)/x.jpg")
        }
        let dataset = try ImageFolder(root: directory.path + "/root").scan()
        // Python: sorted(["éclair", "zebra", "Zulu", "étude" (decomposed), "10", "9"])
        #expect(dataset.classes.map { Array($0.unicodeScalars) }
            == ["10", "9", "Zulu", "e\u{301}tude", "zebra", "éclair"].map { Array($0.unicodeScalars) })
    }

    @Test("validation classes must equal training classes")
    func classMismatch() throws {
        let train = LabeledSamples(classes: ["a", "b", "c"], samples: [])
        let validation = LabeledSamples(classes: ["a", "c", "d"], samples: [])
        let error = try #require(throws: DatasetError.self) {
            try LabeledSamples.validateClasses(train: train, validation: validation)
        }
        #expect(error == .classMismatch(onlyInTrain: ["b"], onlyInValidation: ["d"]))
        #expect(error.description.contains("only in training: [b]"))
        try LabeledSamples.validateClasses(train: train, validation: LabeledSamples(classes: ["a", "b", "c"], samples: []))
    }
}

/// Names that are not UTF-8 (a Latin-1 `été` folder, a `café.jpg`) are kept as the bytes the
/// file system gave, as Python's surrogateescape keeps them for torchvision: found, sorted where
/// torchvision sorts them, opened, and shown escaped.
@Suite struct NonUTF8NameTests {
    /// Creates a file or folder whose name holds raw bytes, with POSIX calls (Swift strings cannot).
    func create(_ directory: TemporaryDirectory, _ relative: [UInt8], folder: Bool = false, contents: [UInt8] = [0xFF, 0xD8, 0xFF]) throws {
        let path = Array(directory.path.utf8) + [UInt8(ascii: "/")] + relative + [0]
        try path.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { name in
                if folder {
                    try #require(mkdir(name.baseAddress!, 0o755) == 0, "mkdir: \(errno)")
                } else {
                    let descriptor = open(name.baseAddress!, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
                    try #require(descriptor >= 0, "open: \(errno)")
                    _ = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    close(descriptor)
                }
            }
        }
    }

    @Test func namesThatAreNotUTF8AreFoundOpenedAndShownEscaped() throws {
        let directory = try TemporaryDirectory()
        let ete: [UInt8] = [0xE9, 0x74, 0xE9]  // "été" in Latin-1
        try create(directory, Array("root".utf8), folder: true)
        try create(directory, Array("root/".utf8) + ete, folder: true)
        try create(directory, Array("root/".utf8) + ete + Array("/a.jpg".utf8), contents: [1, 2, 3])
        try create(directory, Array("root/plain".utf8), folder: true)
        try create(directory, Array("root/plain/caf".utf8) + [0xE9] + Array(".jpg".utf8), contents: [4, 5])
        try create(directory, Array("root/plain/b.jpg".utf8))
        try create(directory, Array("root/plain/z\u{E9}.jpg".utf8))  // valid UTF-8 é: sorts before the byte

        let dataset = try ImageFolder(root: directory.path + "/root").scan()
        // torchvision: sorted(["plain", "\udce9t\udce9"]); the class name shows the bytes escaped.
        #expect(dataset.classes == ["plain", "\\xe9t\\xe9"])
        #expect(dataset.samples.count == 4, "\(dataset.samples.map(\.path))")
        let shown = dataset.samples.map { PathNames.display($0.path) }
        #expect(shown.map { String($0.dropFirst(directory.path.count)) }
            == ["/root/plain/b.jpg", "/root/plain/caf\\xe9.jpg", "/root/plain/z\u{E9}.jpg", "/root/\\xe9t\\xe9/a.jpg"])
        // Every path reads back the bytes written under it.
        let cafe = try #require(dataset.samples.first { PathNames.display($0.path).hasSuffix("caf\\xe9.jpg") })
        #expect(try readFileBytes(atPath: cafe.path).get() == [4, 5])
        #expect(PathNames.bytes(of: cafe.path).suffix(8) == Array("caf".utf8) + [0xE9] + Array(".jpg".utf8))
    }

    @Test func everyNameRoundTrips() {
        let names: [[UInt8]] = [
            Array("plain.jpg".utf8), [0xE9], [0xC3, 0xA9], [0xC3], [0xFF, 0xFE, 0x41], [0xED, 0xA0, 0x80],  // a UTF-8 surrogate: invalid
            Array("\u{F7E9}".utf8),  // a real private-use character in the escape range
            [0xF0, 0x9F, 0x98, 0x80, 0x80],
        ]
        for name in names {
            let text = PathNames.string(fromBytes: name)
            #expect(PathNames.bytes(of: text) == name, "\(name) → \(PathNames.display(text))")
        }
        #expect(PathNames.string(fromBytes: [0xC3, 0xA9]) == "\u{E9}")
        #expect(PathNames.display(PathNames.string(fromBytes: [0x61, 0xE9])) == "a\\xe9")
    }
}
