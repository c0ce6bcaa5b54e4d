import Foundation

/// The slides a process has open, shared by the loader's workers: opening a slide parses its
/// metadata (a Mirax's index, a vendor TIFF's directories) and its tissue mask reads its
/// thumbnail, so both are done once per slide, not once per training region.
final class OpenSlides: @unchecked Sendable {
    static let shared = OpenSlides()

    /// Who decodes the slides' regions (tests compare `.openSlide`'s handling with Headroom's reader).
    let decoder: WholeSlide.Decoder

    init(decoder: WholeSlide.Decoder = .automatic) { self.decoder = decoder }

    /// One open slide and, once asked for, its tissue mask.
    final class Entry: @unchecked Sendable {
        let slide: WholeSlide
        private let lock = NSLock()
        private var cachedMask: TissueMask?

        init(slide: WholeSlide) { self.slide = slide }

        func mask() throws -> TissueMask {
            try lock.withLock {
                if let cachedMask { return cachedMask }
                let mask = try TissueMask(slide: slide)
                cachedMask = mask
                return mask
            }
        }
    }

    /// More than this many open slides closes the least recently used (each holds file handles and tile caches).
    static let capacity = 64
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var recency: [String] = []

    func open(_ path: String) throws(ImageDecodeError) -> Entry {
        if let entry = lock.withLock({ () -> Entry? in
            // A handle a failed read broke is dropped: a bad tile must not fail the slide's other regions.
            guard let entry = entries[path], !entry.slide.isBroken else { return nil }
            recency.removeAll { $0 == path }
            recency.append(path)
            return entry
        }) {
            return entry
        }
        let entry = Entry(slide: try WholeSlide(path: path, decoder: decoder))
        lock.withLock {
            if entries[path]?.slide.isBroken != false { entries[path] = entry }
            recency.removeAll { $0 == path }
            recency.append(path)
            while recency.count > Self.capacity { entries[recency.removeFirst()] = nil }
        }
        return entry
    }
}
