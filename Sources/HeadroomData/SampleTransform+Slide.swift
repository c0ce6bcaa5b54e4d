import Torch

extension SampleTransform {
    /// A slide's sample, [1, 3, resolution, resolution] uint8: in training a region at the view,
    /// centred on a point drawn over the tissue (anywhere with the mask off) and flipped at random
    /// both ways (a slide has no up); in evaluation the tissue's centre region or the whole slide.
    /// RandomResizedCrop's scale and ratio do not apply: they would change the magnification.
    func applyToSlide(
        at path: String, resolution: Int, reading: SlideReading, random: inout DeterministicRandom
    ) throws -> Tensor {
        let entry = try OpenSlides.shared.open(path)
        let slide = entry.slide
        let geometry = try slide.geometry(for: reading.view)
        let size = geometry.size
        switch self {
        case .training:
            let point = try reading.tissueMask ? entry.mask().randomTissuePoint(using: &random) : nil
            let centre = point.map { (x: $0.x / geometry.downsample, y: $0.y / geometry.downsample) }
                ?? (x: random.nextUnitInterval() * Double(size.width), y: random.nextUnitInterval() * Double(size.height))
            var output = try slide.read(Self.box(centredOn: centre, side: resolution, within: size), at: geometry)
            if random.nextUnitInterval() < 0.5 { output = try output.flipped([3]) }
            if random.nextUnitInterval() < 0.5 { output = try output.flipped([2]) }
            return output
        case .evaluation:
            switch reading.evaluation {
            case .center:
                let bounds = try reading.tissueMask ? entry.mask().tissueBounds : nil
                let centre = bounds.map { (x: ($0.left + $0.right) / 2 / geometry.downsample, y: ($0.top + $0.bottom) / 2 / geometry.downsample) }
                    ?? (x: Double(size.width) / 2, y: Double(size.height) / 2)
                return try slide.read(Self.box(centredOn: centre, side: resolution, within: size), at: geometry)
            case .whole:
                // Shrunk to fit when larger (read from the level nearest that size), centred on the background.
                let fit = min(1, Double(resolution) / Double(max(size.width, size.height)))
                let shown = fit < 1 ? slide.geometry(downsample: geometry.downsample / fit) : geometry
                let box = Self.box(centredOn: (Double(shown.size.width) / 2, Double(shown.size.height) / 2), side: resolution, within: shown.size)
                return try slide.read(box, at: shown)
            }
        }
    }

    /// A side² box centred on `centre` and moved inside `size`; where the slide is smaller than
    /// the box, centred on it (the rest reads as background).
    static func box(centredOn centre: (x: Double, y: Double), side: Int, within size: ImageSize) -> CropBox {
        func start(_ centre: Double, _ extent: Int) -> Int {
            extent <= side ? (extent - side) / 2 : min(max(0, Int((centre - Double(side) / 2).rounded())), extent - side)
        }
        return CropBox(top: start(centre.y, size.height), left: start(centre.x, size.width), height: side, width: side)
    }
}
