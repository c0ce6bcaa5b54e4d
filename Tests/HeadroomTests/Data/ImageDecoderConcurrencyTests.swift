import Headroom
import Testing

@Suite("ImageDecoder across threads")
struct ImageDecoderConcurrencyTests {
    /// Outcomes compare by value: the image, or the error's kind and message.
    enum Outcome: Equatable, Sendable {
        case image(DecodedImage)
        case failure(ImageDecodeError.Kind, String)
    }

    static func outcome(_ name: String) -> Outcome {
        do {
            return .image(try ImageDecoder().decode(fileAtPath: ImageFixtures.path(name), minimumSize: .shorterSide(10)))
        } catch {
            return .failure(error.kind, error.detail)
        }
    }

    @Test("concurrent decodes give the serial results, error messages included")
    func concurrentDecodes() async {
        let names = ["jpeg-baseline.jpg", "truncated.jpg", "png-corrupt.png", "png-interlaced.png", "jpeg-cmyk.jpg",
                     "png-truncated.png", "jpeg-orientation-7.jpg", "not-an-image.jpg"]
        let serial = names.map(Self.outcome)
        let concurrent = await withTaskGroup(of: (Int, Outcome).self) { group in
            for round in 0 ..< 16 {
                for index in names.indices {
                    group.addTask { (round * names.count + index, Self.outcome(names[index])) }
                }
            }
            var results: [Int: Outcome] = [:]
            for await (key, outcome) in group { results[key] = outcome }
            return results
        }
        for (key, outcome) in concurrent {
            #expect(outcome == serial[key % names.count], "\(names[key % names.count])")
        }
        #expect(concurrent.count == 16 * names.count)
    }
}
