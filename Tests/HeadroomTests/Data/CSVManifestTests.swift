import Headroom
import TestSupport
import Testing

@Suite("CSVManifest")
struct CSVManifestTests {
    let manifest = CSVManifest(path: "/data/lists/train.csv")

    @Test("header, quoting, relative and absolute paths, sorted classes")
    func parsesManifest() throws {
        let text = """
            path,label
            images/b.jpg,dog
            "images/with, comma.png",cat
            /abs/c.jpg , "dog"
            "images/""quoted"".jpg",bird\r
            
            """
        let dataset = try manifest.samples(from: text)
        #expect(dataset.classes == ["bird", "cat", "dog"])
        #expect(dataset.samples == [
            Sample(path: "/data/lists/images/b.jpg", classIndex: 2),
            Sample(path: "/data/lists/images/with, comma.png", classIndex: 1),
            Sample(path: "/abs/c.jpg", classIndex: 2),
            Sample(path: "/data/lists/images/\"quoted\".jpg", classIndex: 0),
        ])
    }

    @Test("the header is optional, and a quoted field may span lines")
    func noHeader() throws {
        let dataset = try manifest.samples(from: "a.jpg,x\n\"multi\nline.jpg\",y\nb.jpg,x")
        #expect(dataset.classes == ["x", "y"])
        #expect(dataset.samples.map(\.path) == ["/data/lists/a.jpg", "/data/lists/multi\nline.jpg", "/data/lists/b.jpg"])
        #expect(dataset.samples.map(\.classIndex) == [0, 1, 0])
    }

    @Test("bad lines are reported with their line number", arguments: [
        ("path,label\na.jpg,x\nb.jpg\n", 3, "expected 2 fields"),
        ("a.jpg,x,extra\n", 1, "expected 2 fields"),
        ("a.jpg,x\n,y\n", 2, "empty path"),
        ("a.jpg,x\n\nb.jpg,\n", 3, "empty label"),
        ("a.jpg,x\nb\"c.jpg,y\n", 2, "quote inside an unquoted field"),
        ("a.jpg,x\n\"b.jpg\"z,y\n", 2, "after a closing quote"),
        ("a.jpg,x\n\"b.jpg,y\nc.jpg,z\n", 2, "never closed"),
    ])
    func badLine(text: String, line: Int, reason: String) throws {
        let error = try #require(throws: DatasetError.self) { try manifest.samples(from: text) }
        guard case let .invalidManifestLine(path, errorLine, errorReason) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(path == manifest.path)
        #expect(errorLine == line)
        #expect(errorReason.contains(reason), "\(errorReason)")
        #expect(error.description.hasPrefix("/data/lists/train.csv:\(line): "))
    }

    @Test("a manifest with only a header is empty")
    func emptyManifest() throws {
        #expect(throws: DatasetError.emptyManifest(path: manifest.path)) { try manifest.samples(from: "path,label\n\n") }
    }

    @Test("reading from disk resolves paths against the CSV's folder and shares ImageFolder's types")
    func readsFile() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("lists/val.csv", Array("\u{FEFF}path,label\nimg/1.png,b\nimg/2.png,a\n".utf8))
        let dataset = try CSVManifest(path: path).read()
        #expect(dataset == LabeledSamples(classes: ["a", "b"], samples: [
            Sample(path: directory.path + "/lists/img/1.png", classIndex: 1),
            Sample(path: directory.path + "/lists/img/2.png", classIndex: 0),
        ]))
        let missing = directory.path + "/missing.csv"
        let error = try #require(throws: DatasetError.self) { try CSVManifest(path: missing).read() }
        #expect(error.description.hasPrefix(missing + ": cannot read"))
    }
}
