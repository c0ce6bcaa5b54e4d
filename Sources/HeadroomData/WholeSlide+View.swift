public import Torch

/// A slide seen at one resolution: `downsample` level-0 pixels per pixel, read from `level`.
public struct SlideGeometry: Sendable, Hashable {
    public var level: Int
    /// Level-0 pixels per pixel of the view (the level's own downsample for a level view).
    public var downsample: Double
    /// The slide's size at this view.
    public var size: ImageSize
}

extension WholeSlide {
    /// The slide at `view`; a level it lacks, or a resolution it does not record or is finer than
    /// its scan, is an `ImageDecodeError` naming the slide.
    public func geometry(for view: SlideReading.View) throws(ImageDecodeError) -> SlideGeometry {
        switch view {
        case let .level(level):
            guard levels.indices.contains(level) else {
                throw ImageDecodeError(
                    path: path, kind: .corrupt,
                    detail: "--slide-level \(level): the slide has \(levels.count) level\(levels.count == 1 ? "" : "s"), 0 to \(levels.count - 1)")
            }
            return SlideGeometry(level: level, downsample: levels[level].downsample, size: levels[level].size)
        case let .micronsPerPixel(mpp):
            guard let scan = micronsPerPixel else {
                throw ImageDecodeError(
                    path: path, kind: .corrupt, detail: "--slide-mpp \(mpp): the slide does not record its microns per pixel; choose --slide-level")
            }
            let downsample = mpp / scan.x
            guard downsample >= 1 - 1e-3 else {
                throw ImageDecodeError(
                    path: path, kind: .corrupt,
                    detail: "--slide-mpp \(mpp): the slide was scanned at \(scan.x) µm/px; Headroom does not enlarge a scan")
            }
            return geometry(downsample: max(1, downsample))
        }
    }

    /// The slide at `downsample` level-0 pixels per pixel, read from the nearest finer level.
    public func geometry(downsample: Double) -> SlideGeometry {
        let full = levels[0].size
        return SlideGeometry(
            level: bestLevel(forDownsample: downsample), downsample: downsample,
            size: ImageSize(
                width: max(1, Int((Double(full.width) / downsample).rounded())),
                height: max(1, Int((Double(full.height) / downsample).rounded()))))
    }

    /// [1, 3, box.height, box.width] uint8 of `box` in the view's pixels (it may reach outside
    /// the slide, which reads as the background): the box's pixels at the level, resized to the
    /// view when the level is finer.
    public func read(_ box: CropBox, at geometry: SlideGeometry) throws -> Tensor {
        let levelDownsample = levels[geometry.level].downsample
        let scale = levelDownsample / geometry.downsample  // view pixels per level pixel, at most 1.01
        if abs(scale - 1) < 1e-9 {
            return try region(
                level: geometry.level, x: Int((Double(box.left) * levelDownsample).rounded()),
                y: Int((Double(box.top) * levelDownsample).rounded()), width: box.width, height: box.height)
        }
        let left = (Double(box.left) / scale).rounded(.down)
        let top = (Double(box.top) / scale).rounded(.down)
        let width = max(1, Int((Double(box.left + box.width) / scale).rounded(.up) - left))
        let height = max(1, Int((Double(box.top + box.height) / scale).rounded(.up) - top))
        let pixels = try region(
            level: geometry.level, x: Int((left * levelDownsample).rounded()), y: Int((top * levelDownsample).rounded()),
            width: width, height: height)
        return try pixels.interpolateBilinear(size: (box.height, box.width), antialias: true)
    }
}
