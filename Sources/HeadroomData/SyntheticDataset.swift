import Dispatch
public import Foundation
import Torch

/// A labelled image set drawn from a seed: three kinds of shape (circles, squares, triangles),
/// darker than their background, and two textures (stripes, checkers), each with its own colours,
/// size, rotation, position, lighting gradient and noise, written in the train/ and val/ layout the trainer reads. It is the demo's data,
/// the loader benchmark's and the end-to-end tests' — real files, so decoding, DCT scaling and
/// cropping all run.
///
/// Every image is drawn from its own random stream (seed, class, split, index) with libtorch's
/// elementwise arithmetic, so the same seed gives the same bytes whatever the thread count, and a
/// set of hundreds of 1024×768 images takes seconds.
public struct SyntheticDataset: Sendable {
    /// Class folders, in ImageFolder's (code point) order, so a class's index is its position here.
    public static let classNames = ["checkers", "circles", "squares", "stripes", "triangles"]

    /// How the images are stored.
    public enum FileFormat: String, Sendable, CaseIterable {
        /// JPEG (quality 90), with every fourth image of a class a PNG.
        case mixed
        case jpeg
        case png
        /// Lossy WebP (quality 90).
        case webp

        /// The encoding of image `index` of a class.
        func encoding(ofImage index: Int) -> ImageEncoder.Format {
            switch self {
            case .mixed: index % 4 == 3 ? .png(fast: true) : .jpeg(quality: 90)
            case .jpeg: .jpeg(quality: 90)
            case .png: .png(fast: true)
            case .webp: .webp(quality: 90)
            }
        }
    }

    /// Raised whenever the drawing changes, so sets written before are drawn again.
    /// 2: shapes dark on a lighter background, larger and nearer the centre (learnable from
    /// scratch in the demo's 120 steps; version 1's stayed near 50% top-1).
    static let drawingVersion = 2

    /// The classes to write, a subset of `classNames` (tests that need a small set take fewer).
    public var classes = SyntheticDataset.classNames
    public var trainPerClass = 48
    public var validationPerClass = 16
    public var width = 160
    public var height = 120
    public var seed: UInt64 = 0
    public var format = FileFormat.mixed
    /// Bands per image: 3 is RGB in `format`; any other count (or `bitDepth` 16) is written as
    /// multi-band TIFF, band b holding the drawing's channel b mod 3 (`demo-data --bands 13`).
    public var bands = 3
    /// 8, or 16: samples scaled by 257 with noise in the low byte, as a 16-bit scanner's are.
    public var bitDepth = 8
    /// Whether the images are written as whole slides (`demo-data --slides`): each drawing on a
    /// white background, as a pyramidal tiled TIFF that OpenSlide reads, at 0.5 µm per pixel.
    public var slides = false
    /// Whether the set is written as full-depth TIFF instead of photos.
    var writesSamples: Bool { !slides && (bands != 3 || bitDepth != 8) }
    /// Images drawn at once (each on one libtorch thread).
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    /// Writes the set under `root` (root/train/<class>/NNNN.jpg, root/val/…), keeping files already
    /// there when `root/.headroom-synthetic` says this set wrote them (and drawing them all again
    /// otherwise); returns the train and val folders. Throws, writing nothing, when train/ or val/ hold
    /// files this set would not write (another seed's count, format or classes, an older version's
    /// set): a mixture would be neither set.
    @discardableResult
    public func write(to root: URL) throws -> (train: URL, validation: URL) {
        let train = root.appendingPathComponent("train")
        let validation = root.appendingPathComponent("val")
        var expected: [(file: URL, label: Int, stream: Int, encoding: ImageEncoder.Format)] = []
        for (split, perClass, offset) in [(train, trainPerClass, 0), (validation, validationPerClass, 1_000_000)] {
            for name in classes {
                guard let label = Self.classNames.firstIndex(of: name) else { throw SyntheticDatasetError.unknownClass(name) }
                for index in 0..<perClass {
                    let encoding = format.encoding(ofImage: index)
                    let file = split.appendingPathComponent(name).appendingPathComponent(
                        String(format: "%04d.", index) + (slides ? "tiff" : writesSamples ? "tif" : encoding.fileExtension))
                    expected.append((file, label, offset + index, encoding))
                }
            }
        }
        let foreign = Self.files(under: [train, validation]).subtracting(expected.map(\.file.path)).sorted()
        guard foreign.isEmpty else { throw SyntheticDatasetError.otherFiles(root: root.path, examples: foreign) }
        for name in classes {
            for split in [train, validation] {
                try FileManager.default.createDirectory(at: split.appendingPathComponent(name), withIntermediateDirectories: true)
            }
        }
        // Files are kept only when the marker says this drawing wrote them with these settings;
        // otherwise every file is drawn again, so an older Headroom's set is never mixed in.
        let marker = root.appendingPathComponent(".headroom-synthetic")
        let layout = slides ? "slides" : writesSamples ? "\(bands) bands of \(bitDepth) bits" : format.rawValue
        let signature = "headroom synthetic set, drawing \(Self.drawingVersion): seed \(seed), \(width)x\(height), \(layout)\n"
        let sameSet = (try? String(contentsOf: marker, encoding: .utf8)) == signature
        let missing = expected.filter { !sameSet || !FileManager.default.fileExists(atPath: $0.file.path) }
        let failure = FirstError()
        let jobs = missing
        let threads = max(1, min(threads, jobs.count))
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            withSingleThreadedTorch {
                for job in stride(from: thread, to: jobs.count, by: threads).map({ jobs[$0] }) {
                    do {
                        var random = DeterministicRandom(seed: seed, epoch: job.label, index: job.stream)
                        if slides {
                            try Data(try slideFile(label: job.label, random: &random)).write(to: job.file, options: .atomic)
                            continue
                        }
                        let image = try draw(label: job.label, random: &random)
                        let bytes = writesSamples
                            ? try samplesFile(image, random: &random) : try ImageEncoder.encode(image, as: job.encoding)
                        try Data(bytes).write(to: job.file, options: .atomic)
                    } catch {
                        failure.record(error)
                    }
                }
            }
        }
        if let error = failure.value { throw error }
        try Data(signature.utf8).write(to: marker, options: .atomic)
        return (train, validation)
    }
}

extension SyntheticDataset {
    /// The drawing as a `bands`-band TIFF of `bitDepth` samples.
    func samplesFile(_ image: DecodedImage, random: inout DeterministicRandom) throws -> [UInt8] {
        let plane = image.width * image.height
        var values = [Double](repeating: 0, count: bands * plane)
        for band in 0..<bands {
            let channel = band % DecodedImage.channelCount
            for pixel in 0..<plane {
                let value = Double(image.pixels[pixel * DecodedImage.channelCount + channel])
                values[band * plane + pixel] = bitDepth == 16 ? value * 257 + Double(random.nextInt(below: 256)) - 128 : value
            }
        }
        return try SampleTIFF.encode(values, bands: bands, height: image.height, width: image.width, type: bitDepth == 16 ? .uint16 : .uint8)
    }

    /// The drawing as a whole slide: over the middle 5/8 of a near-white background (glass), with
    /// levels halved down to 64 px (five at most), in 128-px tiles.
    func slideFile(label: Int, random: inout DeterministicRandom) throws -> [UInt8] {
        var tissue = self
        tissue.width = max(8, width * 5 / 8)
        tissue.height = max(8, height * 5 / 8)
        let drawn = try tissue.draw(label: label, random: &random)
        var canvas = [UInt8](repeating: 244, count: width * height * 3)
        let (left, top) = ((width - drawn.width) / 2, (height - drawn.height) / 2)
        for row in 0..<drawn.height {
            let target = ((top + row) * width + left) * 3
            canvas.replaceSubrange(target..<(target + drawn.width * 3), with: drawn.pixels[(row * drawn.width * 3)..<((row + 1) * drawn.width * 3)])
        }
        var levels = [(size: ImageSize(width: width, height: height), rgb: canvas)]
        var pixels = try Tensor(canvas, shape: [1, height, width, 3]).permuted([0, 3, 1, 2])
        while levels.count < 5, max(levels.last!.size.width, levels.last!.size.height) > 64 {
            let size = ImageSize(width: max(1, levels.last!.size.width / 2), height: max(1, levels.last!.size.height / 2))
            pixels = try pixels.interpolateBilinear(size: (size.height, size.width), antialias: true)
            levels.append((size, try pixels.permuted([0, 2, 3, 1]).contiguous().array()))
        }
        return try SlideTIFF.encode(levels: levels, tile: 128, micronsPerPixel: 0.5)
    }

    /// Every file below `folders` (hidden names skipped), by path; a missing folder has none.
    static func files(under folders: [URL]) -> Set<String> {
        var files = Set<String>()
        for folder in folders {
            guard let names = try? FileManager.default.subpathsOfDirectory(atPath: folder.path) else { continue }
            for name in names where !name.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
                let path = folder.appendingPathComponent(name).path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    files.insert(path)
                }
            }
        }
        return files
    }
}

public enum SyntheticDatasetError: Error, CustomStringConvertible {
    case unknownClass(String)
    case otherFiles(root: String, examples: [String])

    public var description: String {
        switch self {
        case .unknownClass(let name):
            "no generated class is called \(name); the classes are \(SyntheticDataset.classNames.joined(separator: ", "))"
        case let .otherFiles(root, examples):
            "\(root) holds \(examples.count) files this set would not write (another set, or an older Headroom's), "
                + "e.g. \(examples.prefix(3).joined(separator: ", ")); remove the folder or write the set elsewhere"
        }
    }
}

/// The first error any drawing thread met.
private final class FirstError: @unchecked Sendable {
    // @unchecked: `error` is guarded by `lock`.
    private let lock = NSLock()
    private var error: (any Error)?

    func record(_ error: any Error) {
        lock.lock()
        defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }

    var value: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}
