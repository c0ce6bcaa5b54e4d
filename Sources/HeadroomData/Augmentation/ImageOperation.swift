import Foundation

/// The image operations of torchvision's automatic augmentation policies, on 8-bit planes
/// ([bands][rows][columns], 1 or 3 bands), with the semantics of torchvision's tensor
/// functions (`transforms._functional_tensor`): nearest-neighbour warps that fill with 0, and
/// blends computed in float and truncated to uint8 as `Tensor.to(torch.uint8)` does.
public enum ImageOperation: Sendable, Hashable {
    case identity
    /// Shears by `magnitude` (the tangent of the angle) about the top-left corner.
    case shearX(Double), shearY(Double)
    /// Whole-pixel shifts.
    case translateX(Double), translateY(Double)
    /// Degrees, anticlockwise, about the centre.
    case rotate(Double)
    /// Blends with black, grey and the mean grey, and a blur: 1 is the image itself.
    case brightness(Double), color(Double), contrast(Double), sharpness(Double)
    /// Bits kept.
    case posterize(Int)
    /// Inverts values at or above the threshold.
    case solarize(Double)
    case autoContrast, equalize, invert

    /// How the warps sample: torchvision's classes default to nearest, its reference recipe
    /// (`--interpolation bilinear`) passes bilinear.
    public enum Interpolation: String, Sendable, Hashable, Codable { case nearest, bilinear }

    /// Applies the operation to `pixels` (`bands` planes of `height`×`width`), in place.
    public func apply(to pixels: inout [UInt8], bands: Int, height: Int, width: Int, interpolation: Interpolation = .nearest) {
        let image = Planes(bands: bands, height: height, width: width)
        let corner = (-0.5 * Double(width), -0.5 * Double(height))
        switch self {
        case .identity: return
        case let .shearX(m): image.warp(&pixels, inverse: Self.inverseAffine(center: corner, shear: (Self.degrees(atan(m)), 0)), interpolation)
        case let .shearY(m): image.warp(&pixels, inverse: Self.inverseAffine(center: corner, shear: (0, Self.degrees(atan(m)))), interpolation)
        case let .translateX(m): image.warp(&pixels, inverse: Self.inverseAffine(translate: (Double(Int(m)), 0)), interpolation)
        case let .translateY(m): image.warp(&pixels, inverse: Self.inverseAffine(translate: (0, Double(Int(m)))), interpolation)
        case let .rotate(degrees): image.warp(&pixels, inverse: Self.inverseAffine(angle: -degrees), interpolation)
        case let .brightness(factor): image.blend(&pixels, factor: factor) { _, _ in 0 }
        case let .color(factor):
            let grey = image.grey(pixels)
            image.blend(&pixels, factor: factor) { _, index in Float(grey[index]) }
        case let .contrast(factor):
            let grey = image.grey(pixels)
            // torch.mean over float32 values: summed in float64 here, which it matches to within a rounding.
            let mean = Float(grey.reduce(0.0) { $0 + Double($1) } / Double(max(1, grey.count)))
            image.blend(&pixels, factor: factor) { _, _ in mean }
        case let .sharpness(factor):
            guard height > 2, width > 2 else { return }
            let blurred = image.blurred(pixels)
            image.blend(&pixels, factor: factor) { offset, _ in Float(blurred[offset]) }
        case let .posterize(bits):
            let mask = UInt8(truncatingIfNeeded: -(1 << (8 - max(0, min(8, bits)))))
            for index in pixels.indices { pixels[index] &= mask }
        case let .solarize(threshold):
            for index in pixels.indices where Double(pixels[index]) >= threshold { pixels[index] = 255 - pixels[index] }
        case .autoContrast: image.autoContrast(&pixels)
        case .equalize: image.equalize(&pixels)
        case .invert: for index in pixels.indices { pixels[index] = 255 - pixels[index] }
        }
    }

    static func degrees(_ radians: Double) -> Double { radians * 180 / Double.pi }

    /// torchvision's `_get_inverse_affine_matrix`: output pixel → input pixel, both relative
    /// to the image centre, as [a, b, c, d, e, f] (x' = a·x + b·y + c, y' = d·x + e·y + f).
    static func inverseAffine(
        center: (Double, Double) = (0, 0), angle: Double = 0, translate: (Double, Double) = (0, 0), shear: (Double, Double) = (0, 0)
    ) -> [Double] {
        let rotation = angle * Double.pi / 180
        let (sx, sy) = (shear.0 * Double.pi / 180, shear.1 * Double.pi / 180)
        let a = cos(rotation - sy) / cos(sy)
        let b = -cos(rotation - sy) * tan(sx) / cos(sy) - sin(rotation)
        let c = sin(rotation - sy) / cos(sy)
        let d = -sin(rotation - sy) * tan(sx) / cos(sy) + cos(rotation)
        var matrix = [d, -b, 0, -c, a, 0]
        let (cx, cy) = center
        let (tx, ty) = translate
        matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty)
        matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty)
        matrix[2] += cx
        matrix[5] += cy
        return matrix
    }
}

/// Planar 8-bit image geometry and the pixel loops the operations share.
struct Planes {
    let bands: Int
    let height: Int
    let width: Int
    var area: Int { height * width }

    /// Resampling through `inverse` (centre-relative, see `inverseAffine`), zeros outside, as
    /// torchvision samples: its affine grid (θ scaled to −1…1 by the half sizes) and
    /// `grid_sample(align_corners=False)`, step by step in float32, so that a coordinate exactly
    /// half-way between two pixels rounds (half to even) as there; bilinear values are rounded.
    func warp(_ pixels: inout [UInt8], inverse m: [Double], _ interpolation: ImageOperation.Interpolation) {
        let source = pixels
        let (w, h) = (Float(width), Float(height))
        let theta = m.map(Float.init)
        // theta.transpose(1, 2) / [0.5 w, 0.5 h]
        let scaled = [theta[0] / (0.5 * w), theta[1] / (0.5 * w), theta[2] / (0.5 * w),
                      theta[3] / (0.5 * h), theta[4] / (0.5 * h), theta[5] / (0.5 * h)]
        for row in 0..<height {
            let y = Float(row) - h * 0.5 + 0.5
            for column in 0..<width {
                let x = Float(column) - w * 0.5 + 0.5
                let gridX = x * scaled[0] + y * scaled[1] + scaled[2]
                let gridY = x * scaled[3] + y * scaled[4] + scaled[5]
                let sourceX = ((gridX + 1) * w - 1) / 2
                let sourceY = ((gridY + 1) * h - 1) / 2
                if interpolation == .bilinear {
                    for band in 0..<bands {
                        pixels[band * area + row * width + column] = bilinear(source, band: band, x: sourceX, y: sourceY)
                    }
                    continue
                }
                let sx = Int(exactly: sourceX.rounded(.toNearestOrEven)) ?? -1
                let sy = Int(exactly: sourceY.rounded(.toNearestOrEven)) ?? -1
                let inside = sx >= 0 && sx < width && sy >= 0 && sy < height
                for band in 0..<bands {
                    pixels[band * area + row * width + column] = inside ? source[band * area + sy * width + sx] : 0
                }
            }
        }
    }

    /// The bilinear sample of `band` at (x, y), zeros outside: grid_sample's four weights in
    /// its order, rounded half to even.
    private func bilinear(_ source: [UInt8], band: Int, x: Float, y: Float) -> UInt8 {
        // As ATen's vectorised kernel forms the weights: distances from the north-west corner first.
        let (left, top) = (x.rounded(.down), y.rounded(.down))
        let (right, bottom) = (left + 1, top + 1)
        let (fromWest, fromNorth) = (x - left, y - top)
        let (toEast, toSouth) = (1 - fromWest, 1 - fromNorth)
        let northWest = toSouth * toEast
        let northEast = toSouth * fromWest
        let southWest = fromNorth * toEast
        let southEast = fromNorth * fromWest
        func value(_ column: Float, _ row: Float) -> Float {
            guard column >= 0, row >= 0, column < Float(width), row < Float(height) else { return 0 }
            return Float(source[band * area + Int(row) * width + Int(column)])
        }
        let sum = value(left, top) * northWest + value(right, top) * northEast + value(left, bottom) * southWest
            + value(right, bottom) * southEast
        return UInt8(max(0, min(255, sum.rounded(.toNearestOrEven))))
    }

    /// (factor·pixel + (1 − factor)·other), clamped to 0…255 and truncated, as torchvision's `_blend`.
    func blend(_ pixels: inout [UInt8], factor: Double, other: (_ offset: Int, _ pixelIndex: Int) -> Float) {
        // Both weights rounded from float64 to float32, as a Python scalar times a float tensor.
        let (ratio, rest) = (Float(factor), Float(1 - factor))
        for band in 0..<bands {
            for index in 0..<area {
                let offset = band * area + index
                let value = ratio * Float(pixels[offset]) + rest * other(offset, index)
                pixels[offset] = UInt8(max(0, min(255, value)))
            }
        }
    }

    /// torchvision's `rgb_to_grayscale` on uint8: 0.2989 R + 0.587 G + 0.114 B, truncated; a
    /// grey image is its own.
    func grey(_ pixels: [UInt8]) -> [UInt8] {
        guard bands == 3 else { return Array(pixels[0..<area]) }
        return (0..<area).map { index in
            let value = Float(0.2989) * Float(pixels[index]) + Float(0.587) * Float(pixels[area + index])
                + Float(0.114) * Float(pixels[2 * area + index])
            return UInt8(max(0, min(255, value)))
        }
    }

    /// torchvision's `_blurred_degenerate_image`: the 3×3 kernel [1 1 1; 1 5 1; 1 1 1] / 13 on
    /// the interior, rounded; the border rows and columns kept.
    func blurred(_ pixels: [UInt8]) -> [UInt8] {
        var result = pixels
        let weight = Float(1) / 13
        for band in 0..<bands {
            let base = band * area
            for row in 1..<(height - 1) {
                for column in 1..<(width - 1) {
                    var sum: Float = 0
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let value = Float(pixels[base + (row + dy) * width + column + dx])
                            sum += value * (dy == 0 && dx == 0 ? 5 * weight : weight)
                        }
                    }
                    result[base + row * width + column] = UInt8(max(0, min(255, sum.rounded(.toNearestOrEven))))
                }
            }
        }
        return result
    }

    /// Each band stretched to 0…255 from its own minimum and maximum (a flat band kept).
    func autoContrast(_ pixels: inout [UInt8]) {
        for band in 0..<bands {
            let range = (band * area)..<((band + 1) * area)
            guard let low = pixels[range].min(), let high = pixels[range].max() else { continue }
            // torch computes 255 / t as reciprocal(t) · 255, which rounds differently from a division.
            let (minimum, scale): (Float, Float) = high > low ? (Float(low), (1 / Float(high - low)) * 255) : (0, 1)
            for offset in range {
                pixels[offset] = UInt8(max(0, min(255, (Float(pixels[offset]) - minimum) * scale)))
            }
        }
    }

    /// Each band's histogram equalised as torchvision's `_scale_channel` does it.
    func equalize(_ pixels: inout [UInt8]) {
        for band in 0..<bands {
            let range = (band * area)..<((band + 1) * area)
            var histogram = [Int](repeating: 0, count: 256)
            for offset in range { histogram[Int(pixels[offset])] += 1 }
            let nonzero = histogram.filter { $0 != 0 }
            let step = nonzero.dropLast().reduce(0, +) / 255
            guard step != 0 else { continue }
            var lookup = [UInt8](repeating: 0, count: 256)
            var cumulative = 0
            for value in 0..<256 {
                // lut[v] = (cumsum[v − 1] + step / 2) / step, lut[0] = 0 (the pad), clamped.
                lookup[value] = UInt8(min(255, (cumulative + step / 2) / step))
                cumulative += histogram[value]
            }
            lookup[0] = 0
            for offset in range { pixels[offset] = lookup[Int(pixels[offset])] }
        }
    }
}
