/// torchvision's `Resize` output size (`_compute_resized_output_size`).
public struct Resize: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        /// `Resize(n)`: the shorter side becomes `n`, the longer keeps the aspect ratio.
        case shorterSide(Int)
        /// `Resize((h, w))`: exactly this size.
        case size(ImageSize)
    }

    public var target: Target
    /// torchvision's `max_size`: the longer side's limit for `.shorterSide`; must exceed the shorter side.
    public var maxSize: Int?

    public init(_ target: Target, maxSize: Int? = nil) {
        if case .shorterSide(let side) = target, let maxSize {
            precondition(maxSize > side, "maxSize = \(maxSize) must be greater than the shorter side \(side)")
        }
        self.target = target
        self.maxSize = maxSize
    }

    /// The size an image of `input` is resized to.
    public func outputSize(for input: ImageSize) -> ImageSize {
        switch target {
        case .size(let size):
            return size
        case .shorterSide(let requested):
            let isPortrait = input.width <= input.height
            let (short, long) = isPortrait ? (input.width, input.height) : (input.height, input.width)
            // Python's int(a * b / c): exact product, correctly rounded division, truncation.
            var (newShort, newLong) = (requested, Int(Double(requested * long) / Double(short)))
            if let maxSize, newLong > maxSize {
                (newShort, newLong) = (Int(Double(maxSize * newShort) / Double(newLong)), maxSize)
            }
            return isPortrait ? ImageSize(width: newShort, height: newLong) : ImageSize(width: newLong, height: newShort)
        }
    }

    /// The least a JPEG must be decoded at so that this resize only ever shrinks it.
    public var minimumDecodeSize: ImageDecoder.MinimumSize {
        switch target {
        case .shorterSide(let side): .shorterSide(side)
        case .size(let size): .size(size)
        }
    }
}
