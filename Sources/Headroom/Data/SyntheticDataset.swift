public import Foundation

/// A small labelled image set drawn from a seed: circles, squares and stripes on noisy
/// backgrounds, written as JPEGs in the train/ and val/ layout the trainer reads. It is the
/// demo's data and the end-to-end tests' — real files, so decoding, DCT scaling and
/// cropping all run.
public struct SyntheticDataset: Sendable {
    public static let classNames = ["circles", "squares", "stripes"]

    public var trainPerClass = 48
    public var validationPerClass = 16
    public var width = 160
    public var height = 120
    public var seed: UInt64 = 0

    public init() {}

    /// Writes the set under `root` (root/train/<class>/NNNN.jpg, root/val/…) unless it is
    /// already there; returns the train and val folders.
    @discardableResult
    public func write(to root: URL) throws -> (train: URL, validation: URL) {
        let train = root.appendingPathComponent("train")
        let validation = root.appendingPathComponent("val")
        for (split, perClass, offset) in [(train, trainPerClass, 0), (validation, validationPerClass, 1_000_000)] {
            for (label, name) in Self.classNames.enumerated() {
                let folder = split.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for index in 0..<perClass {
                    let file = folder.appendingPathComponent(String(format: "%04d.jpg", index))
                    if FileManager.default.fileExists(atPath: file.path) { continue }
                    var random = DeterministicRandom(seed: seed, epoch: label, index: offset + index)
                    let image = draw(label: label, random: &random)
                    try Data(ImageEncoder.encode(image, as: .jpeg(quality: 88))).write(to: file, options: .atomic)
                }
            }
        }
        return (train, validation)
    }

    /// One image of class `label`.
    func draw(label: Int, random: inout DeterministicRandom) -> DecodedImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let background = (0..<3).map { _ in random.nextUniform(from: 40, to: 215) }
        let foreground = background.map { $0 > 128 ? $0 - 100 : $0 + 100 }
        let centerX = random.nextUniform(from: 0.3, to: 0.7) * Double(width)
        let centerY = random.nextUniform(from: 0.3, to: 0.7) * Double(height)
        let radius = random.nextUniform(from: 0.18, to: 0.35) * Double(min(width, height))
        let period = random.nextUniform(from: 8, to: 20)
        let angle = random.nextUniform(from: 0, to: Double.pi)
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) - centerX
                let dy = Double(y) - centerY
                let inside: Bool
                switch label {
                case 0: inside = dx * dx + dy * dy <= radius * radius
                case 1: inside = abs(dx) <= radius * 0.85 && abs(dy) <= radius * 0.85
                default: inside = (dx * cos(angle) + dy * sin(angle)).truncatingRemainder(dividingBy: period).magnitude < period / 2
                }
                let base = inside ? foreground : background
                for channel in 0..<3 {
                    let noise = random.nextUniform(from: -18, to: 18)
                    pixels[(y * width + x) * 3 + channel] = UInt8(max(0, min(255, base[channel] + noise)))
                }
            }
        }
        return DecodedImage(width: width, height: height, pixels: pixels)
    }
}
