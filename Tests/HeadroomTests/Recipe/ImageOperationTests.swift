import Foundation
import Testing
import TestSupport
@testable import HeadroomData

/// The automatic-augmentation operations against torchvision's own (`_apply_op` on uint8
/// tensors, NEAREST, no fill: Scripts/make_augment_fixtures.py), on a colour and a grey image.
@Suite struct ImageOperationTests {
    struct Reference: Decodable {
        struct Image: Decodable {
            var bands: Int
            var height: Int
            var width: Int
            var data: String
            var cases: [Case]
        }
        struct Case: Decodable {
            var op: String
            var magnitude: Double
            var data: String
        }
        var images: [Image]
    }

    /// torchvision's operation name and magnitude as ours (enhancements take 1 + magnitude there too).
    static func operation(_ name: String, _ magnitude: Double) -> ImageOperation? {
        switch name {
        case "Identity": .identity
        case "ShearX": .shearX(magnitude)
        case "ShearY": .shearY(magnitude)
        case "TranslateX": .translateX(magnitude)
        case "TranslateY": .translateY(magnitude)
        case "Rotate": .rotate(magnitude)
        case "Brightness": .brightness(1 + magnitude)
        case "Color": .color(1 + magnitude)
        case "Contrast": .contrast(1 + magnitude)
        case "Sharpness": .sharpness(1 + magnitude)
        case "Posterize": .posterize(Int(magnitude))
        case "Solarize": .solarize(magnitude)
        case "AutoContrast": .autoContrast
        case "Equalize": .equalize
        default: nil
        }
    }

    @Test func everyOperationMatchesTorchvisions() throws {
        let reference = try Fixtures.json("augment-operations.json", as: Reference.self)
        #expect(reference.images.count == 2)
        for image in reference.images {
            let source = [UInt8](try #require(Data(base64Encoded: image.data)))
            #expect(source.count == image.bands * image.height * image.width)
            for item in image.cases {
                let operation = try #require(Self.operation(item.op, item.magnitude), "unknown operation \(item.op)")
                var pixels = source
                operation.apply(to: &pixels, bands: image.bands, height: image.height, width: image.width)
                let expected = [UInt8](try #require(Data(base64Encoded: item.data)))
                let differing = zip(pixels, expected).filter { $0 != $1 }
                let largest = differing.map { abs(Int($0) - Int($1)) }.max() ?? 0
                let label = "\(item.op) \(item.magnitude) on \(image.bands) band(s): \(differing.count) of \(pixels.count) values differ, by up to \(largest)"
                // Bit for bit: the warps follow torch's float32 grid step by step, the blends its
                // float32 arithmetic (a reciprocal where torch divides a scalar by a tensor).
                #expect(differing.isEmpty, "\(label)")
                if item.op != "Identity" && !(item.op == "Solarize" && item.magnitude == 255) && !(item.op == "Posterize" && item.magnitude == 8) {
                    #expect(pixels.elementsEqual(source) == false, "\(item.op) \(item.magnitude) changed nothing")
                }
            }
        }
    }

    @Test func policiesDrawTorchvisionsSpaces() {
        var random = DeterministicRandom(seed: 7)
        var seen: Set<String> = []
        for _ in 0..<3000 {
            let operations = AugmentPolicy.trivialAugmentWide.draw(height: 224, width: 224, random: &random)
            #expect(operations.count == 1)
            for operation in operations {
                switch operation {
                case let .shearX(m), let .shearY(m): #expect(abs(m) <= 0.99); seen.insert("shear")
                case let .translateX(m), let .translateY(m): #expect(abs(m) <= 32); seen.insert("translate")
                case let .rotate(m): #expect(abs(m) <= 135); seen.insert("rotate")
                case let .brightness(f), let .color(f), let .contrast(f), let .sharpness(f): #expect(f >= 0.01 && f <= 1.99); seen.insert("enhance")
                case let .posterize(bits): #expect((2...8).contains(bits)); seen.insert("posterize")
                case let .solarize(t): #expect(t >= 0 && t <= 255); seen.insert("solarize")
                case .identity, .autoContrast, .equalize: seen.insert("plain")
                }
            }
        }
        #expect(seen.count == 7, "every kind drawn: \(seen.sorted())")
        // RandAugment: two operations at the fixed magnitude bin (9 of 31 → 30 · 9/30 = 9 degrees).
        let rand = AugmentPolicy.randAugment(magnitude: 9)
        for _ in 0..<500 {
            let operations = rand.draw(height: 331, width: 331, random: &random)
            #expect(operations.count == 2)
            for operation in operations {
                if case let .rotate(m) = operation { #expect(abs(abs(m) - 9) < 1e-12) }
                if case let .translateX(m) = operation { #expect(abs(abs(m) - 150 * 9 / 30.0) < 1e-9) }
                if case let .posterize(bits) = operation { #expect(bits == 7) }  // 8 − round(9 / 7.5)
            }
        }
        #expect(AugmentPolicy(name: "ta_wide") == .trivialAugmentWide)
        #expect(AugmentPolicy(name: "ra", randAugmentMagnitude: 5) == .randAugment(magnitude: 5))
        #expect(AugmentPolicy(name: "augmix") == nil)
    }
}
