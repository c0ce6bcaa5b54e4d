import Foundation
@testable import HeadroomData

/// Small generated sets of multi-band, deep-sample TIFFs whose class signal lives where an
/// 8-bit RGB reading cannot see it.
struct SampleSetWriter {
    var bands = 5
    var type = SampleType.uint16
    var size = 32
    var perClass = (train: 16, validation: 8)

    /// Band-major values of one image: noise everywhere, the class in `value(class, band, random)`.
    typealias Values = (_ classIndex: Int, _ band: Int, _ random: inout DeterministicRandom) -> Double

    /// Writes train/ and val/ with classes "a" and "b"; returns the two folders.
    func write(to root: URL, seed: UInt64 = 1, value: Values) throws -> (train: URL, validation: URL) {
        var random = DeterministicRandom(seed: seed)
        for (split, count) in [("train", perClass.train), ("val", perClass.validation)] {
            for (classIndex, name) in ["a", "b"].enumerated() {
                let folder = root.appendingPathComponent(split).appendingPathComponent(name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for index in 0..<count {
                    var values: [Double] = []
                    for band in 0..<bands {
                        for _ in 0..<(size * size) { values.append(value(classIndex, band, &random)) }
                    }
                    let bytes = try SampleTIFF.encode(values, bands: bands, height: size, width: size, type: type)
                    try Data(bytes).write(to: folder.appendingPathComponent("\(index).tif"))
                }
            }
        }
        return (root.appendingPathComponent("train"), root.appendingPathComponent("val"))
    }
}
