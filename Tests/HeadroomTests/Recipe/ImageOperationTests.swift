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
            var interpolation: ImageOperation.Interpolation
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
        case "Invert": .invert
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
                operation.apply(to: &pixels, bands: image.bands, height: image.height, width: image.width, interpolation: item.interpolation)
                let expected = [UInt8](try #require(Data(base64Encoded: item.data)))
                let differing = zip(pixels, expected).filter { $0 != $1 }
                let largest = differing.map { abs(Int($0) - Int($1)) }.max() ?? 0
                let label = "\(item.op) \(item.magnitude) \(item.interpolation) on \(image.bands) band(s): \(differing.count) of \(pixels.count) values differ, by up to \(largest)"
                // Bit for bit: the warps follow torch's float32 grid step by step, the blends its
                // float32 arithmetic (a reciprocal where torch divides a scalar by a tensor). A
                // bilinear sum that lands on a half may round the other way after torch's
                // vectorised kernel summed it in another order (shears: under 2 % of values, by 1).
                if item.interpolation == .bilinear {
                    #expect(largest <= 1 && differing.count * 50 <= pixels.count, "\(label)")
                } else {
                    #expect(differing.isEmpty, "\(label)")
                }
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
                case .invert: Issue.record("TrivialAugmentWide has no Invert")
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
        #expect(AugmentPolicy(name: "augmix") == .augMix(severity: 3))
        #expect(AugmentPolicy(name: "imagenet") == .autoAugment(.imagenet))
        #expect(AugmentPolicy(name: "autoaugment") == nil)
    }

    /// AutoAugment's tables as torchvision has them (25 sub-policies of two steps each), each
    /// step applied with its probability.
    @Test func autoAugmentAppliesEachStepWithItsProbability() {
        for table in AugmentPolicy.AutoAugmentTable.allCases {
            #expect(table.subPolicies.count == 25)
        }
        let first = AugmentPolicy.AutoAugmentTable.imagenet.subPolicies[0].steps
        #expect(first[0].kind == .posterize && first[0].probability == 0.4 && first[0].bin == 8)
        #expect(first[1].kind == .rotate && first[1].probability == 0.6 && first[1].bin == 9)
        // Over many draws, the steps applied are the tables' mean probability of the steps.
        var random = DeterministicRandom(seed: 3)
        let draws = 20_000
        let applied = (0..<draws).map { _ in AugmentPolicy.autoAugment(.imagenet).draw(height: 64, width: 64, random: &random).count }.reduce(0, +)
        let steps = AugmentPolicy.AutoAugmentTable.imagenet.subPolicies.flatMap(\.steps)
        let expected = steps.map(\.probability).reduce(0, +) / Double(steps.count) * 2
        #expect(abs(Double(applied) / Double(draws) - expected) < 0.03, "\(Double(applied) / Double(draws)) steps a sample, expected \(expected)")
        // Bin 9 of 10 rotates by 30 degrees: the space's maximum.
        let rotation = AugmentPolicy.Kind.rotate.operation(bin: 9, negative: true, space: .autoAugment, height: 64, width: 64)
        #expect(rotation == .rotate(-30))
    }

    /// AugMix's sum: the image weighted by m₀ and three chains by w·m₁, truncated, as
    /// torchvision's; checked with chains of known operations through the same draws.
    @Test func augMixBlendsTheImageWithItsChains() {
        let (bands, height, width) = (3, 12, 10)
        let source = (0..<(bands * height * width)).map { UInt8(($0 * 37) % 256) }
        for seed in UInt64(0)..<20 {
            var random = DeterministicRandom(seed: seed)
            var mixed = source
            AugMix(severity: 3).apply(to: &mixed, bands: bands, height: height, width: width, random: &random)
            // The same draws by hand: weights, then each chain's depth and operations.
            var replay = DeterministicRandom(seed: seed)
            let m = Dirichlet.draw([1, 1], random: &replay)
            let w = Dirichlet.draw([1, 1, 1], random: &replay)
            #expect(abs(m.reduce(0, +) - 1) < 1e-12 && abs(w.reduce(0, +) - 1) < 1e-12)
            var sum = source.map { Double(m[0]) * Double($0) }
            for weight in w {
                var chain = source
                for _ in 0..<(1 + replay.nextInt(below: 3)) {
                    let space = AugmentPolicy.Space.augMix
                    let kind = space.kinds[replay.nextInt(below: space.kinds.count)]
                    let bin = kind.hasMagnitude ? replay.nextInt(below: 3) : 0
                    #expect(bin < 3, "bins below the severity")
                    kind.operation(bin: bin, negative: kind.isSigned && replay.nextInt(below: 2) == 1, space: space, height: height, width: width)
                        .apply(to: &chain, bands: bands, height: height, width: width, interpolation: .bilinear)
                }
                for index in sum.indices { sum[index] += weight * m[1] * Double(chain[index]) }
            }
            // float32 against float64 sums: a value on a whole number may truncate one lower.
            let expected = sum.map { UInt8(max(0, min(255, $0))) }
            #expect(zip(mixed, expected).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
        }
    }
}
