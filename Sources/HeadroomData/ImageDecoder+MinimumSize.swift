extension ImageDecoder {
    /// The smallest output a later resize or crop needs; JPEG decoding scales down no further than this.
    ///
    /// The sizes apply to the image as it will be shown, after the EXIF orientation. An image already
    /// smaller than the minimum is decoded at full resolution, never upscaled.
    public enum MinimumSize: Sendable, Hashable {
        /// Decode every pixel.
        case fullResolution
        /// Keep the shorter side at least this long, as `Resize(n)` followed by a crop needs.
        case shorterSide(Int)
        /// Keep both sides at least this long, as `Resize((height, width))` needs.
        case size(ImageSize)

        /// The (shorter side, width, height) minimums the codec takes, zero meaning none.
        var requirements: (Int32, Int32, Int32) {
            switch self {
            case .fullResolution:
                (0, 0, 0)
            case .shorterSide(let length):
                (Int32(clamping: max(length, 0)), 0, 0)
            case .size(let size):
                (0, Int32(clamping: max(size.width, 0)), Int32(clamping: max(size.height, 0)))
            }
        }
    }
}
