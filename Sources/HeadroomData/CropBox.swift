/// A rectangle of an image in torchvision's `(top, left, height, width)` order.
///
/// Boxes from `CenterCrop` may reach outside the image when the crop is larger than it; torchvision
/// pads with zeros there, and so must whoever applies the box.
public struct CropBox: Sendable, Hashable, CustomStringConvertible {
    public var top: Int
    public var left: Int
    public var height: Int
    public var width: Int

    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top
        self.left = left
        self.height = height
        self.width = width
    }

    public var size: ImageSize { ImageSize(width: width, height: height) }

    /// Whether the box lies wholly inside an image of `imageSize`.
    public func isInside(_ imageSize: ImageSize) -> Bool {
        top >= 0 && left >= 0 && width > 0 && height > 0
            && top + height <= imageSize.height && left + width <= imageSize.width
    }

    public var description: String { "(top: \(top), left: \(left), height: \(height), width: \(width))" }
}
