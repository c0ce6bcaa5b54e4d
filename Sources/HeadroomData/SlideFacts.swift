import Foundation

/// What a whole slide's file says about it: `inspect`'s slide section and its JSON.
public struct SlideFacts: Sendable, Hashable, Codable {
    public struct Level: Sendable, Hashable, Codable {
        public var width: Int
        public var height: Int
        public var downsample: Double
        /// Who decodes the level's tiles: "headroom" (its own tile reader) or "openslide".
        public var reader: String
    }

    /// A region read, in OpenSlide's conventions: location in level-0 pixels, size in the level's.
    public struct Region: Sendable, Hashable, Codable {
        public var level: Int
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int

        public init(level: Int, x: Int, y: Int, width: Int, height: Int) {
            (self.level, self.x, self.y, self.width, self.height) = (level, x, y, width, height)
        }

        /// `--region X,Y,W,H`: four integers, W and H positive.
        public static func parsing(_ text: String, level: Int) -> Region? {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int(String($0).filter { $0 != " " }) }
            guard parts.count == 4, let x = parts[0], let y = parts[1], let width = parts[2], let height = parts[3], width > 0, height > 0
            else { return nil }
            return Region(level: level, x: x, y: y, width: width, height: height)
        }
    }

    /// OpenSlide's name for the format (aperio, hamamatsu, mirax, generic-tiff, …).
    public var vendor: String
    public var levels: [Level]
    public var mppX: Double?
    public var mppY: Double?
    /// The scanner's objective magnification, when recorded.
    public var objectivePower: Double?
    /// The colour outside the scanned area, as RRGGBB.
    public var background: String
    /// The share of the thumbnail that is tissue, and the saturation threshold that found it.
    public var tissueFraction: Double?
    public var tissueThreshold: Int?
    /// The region read, when one was.
    public var region: Region?
    public var openSlideVersion: String?

    public init(slide: WholeSlide, mask: TissueMask?, region: Region?) {
        vendor = slide.vendor
        levels = slide.levels.indices.map { index in
            let level = slide.levels[index]
            return Level(
                width: level.size.width, height: level.size.height, downsample: level.downsample,
                reader: slide.readsTilesItself(level: index) ? "headroom" : "openslide")
        }
        mppX = slide.micronsPerPixel?.x
        mppY = slide.micronsPerPixel?.y
        objectivePower = slide.properties["openslide.objective-power"].flatMap(Double.init)
        background = slide.background.map { String(format: "%02X", $0) }.joined()
        tissueFraction = mask?.tissueFraction
        tissueThreshold = mask?.threshold
        self.region = region
        openSlideVersion = try? WholeSlide.openSlideVersion.get()
    }
}
