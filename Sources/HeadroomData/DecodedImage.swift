/// An 8-bit RGB image: rows top to bottom, each pixel's red, green and blue bytes adjacent (HWC).
///
/// This is the layout the loader hands over as a uint8 batch; conversion to float happens on the device.
public struct DecodedImage: Sendable, Hashable {
    public static let channelCount = 3

    public let width: Int
    public let height: Int
    /// `height * width * 3` bytes.
    public var pixels: [UInt8]

    /// Wraps `pixels`, which must hold exactly `width * height * 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "an image needs a positive size, got \(width)x\(height)")
        precondition(pixels.count == width * height * Self.channelCount,
                     "\(pixels.count) bytes do not make a \(width)x\(height) RGB image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public var size: ImageSize { ImageSize(width: width, height: height) }

    /// The red, green and blue values at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(size)")
        let start = (y * width + x) * Self.channelCount
        return Array(pixels[start ..< start + Self.channelCount])
    }
}
