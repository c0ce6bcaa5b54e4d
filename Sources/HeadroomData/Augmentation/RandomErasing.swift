import Foundation

/// torchvision's `RandomErasing` (Zhong et al., 2017) as its reference recipe uses it: with
/// probability `probability`, a rectangle of 2–33 % of the image, aspect 0.3–3.3, is set to 0
/// after normalisation — the band's mean before it, which is how the loader fills it.
public struct RandomErasing: Sendable, Hashable, Codable {
    public var probability: Double
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>

    public init(probability: Double, scale: ClosedRange<Double> = 0.02...0.33, ratio: ClosedRange<Double> = 0.3...3.3) {
        self.probability = probability
        self.scale = scale
        self.ratio = ratio
    }

    /// The rectangle to erase in a `height`×`width` image, or nil (not drawn, or no try of
    /// ten fitted), in torchvision's order of draws: the coin, then area, aspect, top, left.
    public func box(height: Int, width: Int, random: inout DeterministicRandom) -> CropBox? {
        guard random.nextUnitInterval() < probability else { return nil }
        let area = Double(height * width)
        let logRatio = Foundation.log(ratio.lowerBound)...Foundation.log(ratio.upperBound)
        for _ in 0..<10 {
            let erased = area * random.nextUniform(from: scale.lowerBound, to: scale.upperBound)
            let aspect = Foundation.exp(random.nextUniform(from: logRatio.lowerBound, to: logRatio.upperBound))
            let h = Int((erased * aspect).squareRoot().rounded())
            let w = Int((erased / aspect).squareRoot().rounded())
            guard h < height, w < width, h > 0, w > 0 else { continue }
            let top = random.nextInt(below: height - h + 1)
            let left = random.nextInt(below: width - w + 1)
            return CropBox(top: top, left: left, height: h, width: w)
        }
        return nil
    }
}
