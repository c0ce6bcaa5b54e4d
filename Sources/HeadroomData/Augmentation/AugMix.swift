/// AugMix (Hendrycks et al., 2020) as torchvision's `AugMix` computes it on uint8: weights
/// m ~ Dirichlet(α, α) for the image against its augmentations and w ~ Dirichlet(α, α, α) · m₁
/// for three chains of 1–3 operations each (bins below the severity of 10), the sum in float32,
/// truncated back to uint8. α = 1, all operations, bilinear warps: the reference recipe's.
struct AugMix {
    var severity: Int
    var width = 3
    var alpha = 1.0

    func apply(to pixels: inout [UInt8], bands: Int, height: Int, width imageWidth: Int, random: inout DeterministicRandom) {
        let original = Dirichlet.draw([alpha, alpha], random: &random)
        let chainWeights = Dirichlet.draw(Array(repeating: alpha, count: width), random: &random).map { Float($0 * original[1]) }
        var mix = pixels.map { Float(original[0]) * Float($0) }
        let space = AugmentPolicy.Space.augMix
        for weight in chainWeights {
            var chain = pixels
            let depth = 1 + random.nextInt(below: 3)
            for _ in 0..<depth {
                let kind = space.kinds[random.nextInt(below: space.kinds.count)]
                let bin = kind.hasMagnitude ? random.nextInt(below: severity) : 0
                let operation = kind.operation(
                    bin: bin, negative: kind.isSigned && random.nextInt(below: 2) == 1, space: space, height: height, width: imageWidth)
                operation.apply(to: &chain, bands: bands, height: height, width: imageWidth, interpolation: AugmentPolicy.interpolation)
            }
            for index in mix.indices { mix[index] += weight * Float(chain[index]) }
        }
        for index in pixels.indices { pixels[index] = UInt8(max(0, min(255, mix[index]))) }
    }
}

/// Dirichlet draws as normalised Gamma draws (what `torch._sample_dirichlet` samples).
enum Dirichlet {
    static func draw(_ concentrations: [Double], random: inout DeterministicRandom) -> [Double] {
        let gammas = concentrations.map { random.nextGamma(shape: $0) }
        let total = gammas.reduce(0, +)
        guard total > 0 else { return concentrations.map { _ in 1 / Double(concentrations.count) } }
        return gammas.map { $0 / total }
    }
}
