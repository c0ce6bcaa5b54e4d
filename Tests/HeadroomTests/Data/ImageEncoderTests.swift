import Headroom
import Testing

@Suite("ImageEncoder round trips")
struct ImageEncoderTests {
    /// A 37x23 picture with gradients and a hard edge, so both smooth and sharp content is encoded.
    let image: DecodedImage = {
        let (width, height) = (37, 23)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt8(x * 255 / (width - 1))
                pixels[i + 1] = UInt8(y * 255 / (height - 1))
                pixels[i + 2] = x < width / 2 ? 230 : 20
            }
        }
        return DecodedImage(width: width, height: height, pixels: pixels)
    }()

    @Test("lossless formats decode to the very pixels encoded", arguments: [
        ImageEncoder.Format.png(fast: true), .png(fast: false), .webpLossless,
    ])
    func lossless(format: ImageEncoder.Format) throws {
        let bytes = try ImageEncoder.encode(image, as: format)
        #expect(try ImageDecoder().decode(bytes, source: "encoded.\(format.fileExtension)") == image)
    }

    @Test("lossy formats decode close to the pixels encoded", arguments: [
        ImageEncoder.Format.jpeg(quality: 95), .webp(quality: 95),
    ])
    func lossy(format: ImageEncoder.Format) throws {
        let decoded = try ImageDecoder().decode(try ImageEncoder.encode(image, as: format), source: "encoded")
        #expect(decoded.size == image.size)
        let difference = pixelDifference(decoded.pixels, image.pixels)
        #expect(difference.mean < 4, "mean absolute difference \(difference.mean)")
        #expect(decoded != image, "a lossy format reproduced every byte")
    }

    @Test("an invalid quality is an error, not a crash")
    func invalidQuality() {
        #expect(throws: ImageDecodeError.self) { try ImageEncoder.encode(image, as: .jpeg(quality: 0)) }
        #expect(throws: ImageDecodeError.self) { try ImageEncoder.encode(image, as: .webp(quality: 101)) }
    }
}
