import Foundation
import Headroom
import Testing
import Torch

@Suite("ImageDecoder against Pillow")
struct ImageDecoderTests {
    let decoder = ImageDecoder()

    @Test("lossless PNGs decode to Pillow's exact RGB bytes", arguments: [
        "png-rgb.png", "png-rgba.png", "png-gray.png", "png-gray-alpha.png", "png-palette-trns.png",
        "png-gray1.png", "png-rgb16.png", "png-gray16.png", "png-interlaced.png", "png-interlaced-rgba16.png",
        "png-exif-orientation-6.png", "png-filters-gray.png", "png-filters-gray-alpha.png", "png-filters-rgb.png",
        "png-filters-rgba.png", "png-filters-palette.png",
    ])
    func pngMatchesPillow(name: String) throws {
        try expectExactlyPillows(name, decoder: decoder)
    }

    @Test("JPEGs decode within rounding of Pillow's pixels", arguments: [
        "jpeg-baseline.jpg", "jpeg-progressive.jpg", "jpeg-gray.jpg", "jpeg-cmyk.jpg", "jpeg-64x48.jpg",
        "jpeg-orientation-1.jpg", "jpeg-orientation-2.jpg", "jpeg-orientation-3.jpg", "jpeg-orientation-4.jpg",
        "jpeg-orientation-5.jpg", "jpeg-orientation-6.jpg", "jpeg-orientation-7.jpg", "jpeg-orientation-8.jpg",
    ])
    func jpegMatchesPillow(name: String) throws {
        try expectWithinRoundingOfPillow(name, decoder: decoder)
    }

    @Test("orientations 5-8 swap width and height; ignoring the tag keeps the stored size")
    func orientationChangesSize() throws {
        for orientation in 1 ... 8 {
            let path = ImageFixtures.path("jpeg-orientation-\(orientation).jpg")
            let oriented = try decoder.decode(fileAtPath: path)
            let stored = try ImageDecoder(appliesOrientation: false).decode(fileAtPath: path)
            #expect(stored.size == ImageSize(width: 24, height: 16))
            #expect(oriented.size == (orientation >= 5 ? ImageSize(width: 16, height: 24) : stored.size))
            if orientation == 1 {
                #expect(oriented == stored)
            } else {
                #expect(oriented.pixels != stored.pixels, "orientation \(orientation) left the pixels unchanged")
            }
        }
    }

    @Test("orientation 3 is a 180° rotation of the stored pixels")
    func orientationThreeRotates() throws {
        let path = ImageFixtures.path("jpeg-orientation-3.jpg")
        let oriented = try decoder.decode(fileAtPath: path)
        let stored = try ImageDecoder(appliesOrientation: false).decode(fileAtPath: path)
        for (x, y) in [(0, 0), (5, 3), (23, 15)] {
            #expect(oriented[x, y] == stored[stored.width - 1 - x, stored.height - 1 - y])
        }
    }

    @Test("decoding into a tensor gives the bytes of decoding into an array, scaled and oriented alike", arguments: [
        ("jpeg-64x48.jpg", ImageDecoder.MinimumSize.shorterSide(12)), ("jpeg-orientation-6.jpg", .fullResolution),
        ("png-exif-orientation-6.png", .fullResolution), ("webp-lossy.webp", .shorterSide(4)), ("bmp-palette8.bmp", .fullResolution),
    ])
    func tensorMatchesArray(name: String, minimumSize: ImageDecoder.MinimumSize) throws {
        let bytes = try ImageFixtures.bytes(name)
        let image = try decoder.decode(bytes, source: name, minimumSize: minimumSize)
        let tensor = try decoder.decodeTensor(bytes, source: name, minimumSize: minimumSize)
        #expect(tensor.shape == [1, 3, image.height, image.width])
        // [1, 3, H, W] channels-last: back to HWC order, the array's.
        #expect(try tensor.permuted([0, 2, 3, 1]).contiguous().bytes() == image.pixels)
    }

    @Test("a file is read whole, including one whose size the system reports as 0")
    func readsWholeFiles() throws {
        let name = "jpeg-64x48.jpg"
        #expect(try decoder.readFile(atPath: ImageFixtures.path(name)) == (try ImageFixtures.bytes(name)))
        let status = "/proc/self/status"
        if FileManager.default.fileExists(atPath: status) {
            let text = String(decoding: try decoder.readFile(atPath: status), as: UTF8.self)
            #expect(text.hasPrefix("Name:") && text.contains("\nVmRSS:"), "\(text.prefix(200))")
        }
    }

    @Test("decoding bytes in memory equals decoding the file")
    func memoryMatchesFile() throws {
        let name = "png-palette-trns.png"
        let fromFile = try decoder.decode(fileAtPath: ImageFixtures.path(name))
        let fromMemory = try decoder.decode(try ImageFixtures.bytes(name), source: name)
        #expect(fromFile == fromMemory)
    }
}
