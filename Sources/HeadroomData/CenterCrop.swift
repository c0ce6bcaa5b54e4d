/// torchvision's `CenterCrop`: where a crop of `size` sits in an image.
public struct CenterCrop: Sendable, Hashable {
    public var size: ImageSize

    public init(size: ImageSize) {
        self.size = size
    }

    /// A square crop, as `CenterCrop(224)`.
    public init(_ side: Int) {
        self.init(size: ImageSize(width: side, height: side))
    }

    /// The box for an image of `imageSize`; it reaches outside the image, to be zero-padded, where the crop is larger.
    public func box(for imageSize: ImageSize) -> CropBox {
        CropBox(top: Self.offset(crop: size.height, image: imageSize.height),
                left: Self.offset(crop: size.width, image: imageSize.width),
                height: size.height, width: size.width)
    }

    /// `int(round((image - crop) / 2.0))`, or minus the left/top padding torchvision adds when the crop is larger.
    private static func offset(crop: Int, image: Int) -> Int {
        crop > image ? -((crop - image) / 2) : roundedToInt(Double(image - crop) / 2.0)
    }
}
