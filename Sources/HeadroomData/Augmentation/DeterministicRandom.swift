/// SplitMix64 (Steele, Lea & Flood, 2014): a small, fast generator whose every stream is fixed by its seed.
///
/// Augmentations draw from `DeterministicRandom(seed:epoch:index:)`, a stream of its own per
/// sample, so what a sample sees depends on neither thread scheduling nor the number of processes,
/// and a resumed run draws the same values. The integer and floating-point helpers are written here,
/// not taken from the standard library, whose algorithms may change between Swift releases.
public struct DeterministicRandom: RandomNumberGenerator, Sendable, Hashable {
    private static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15  // 2^64 / golden ratio, odd

    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The stream for one sample of one epoch; distinct (seed, epoch, index) triples give unrelated streams.
    public init(seed: UInt64, epoch: Int, index: Int) {
        var key = Self.mix(seed &+ Self.increment)
        key = Self.mix(key ^ UInt64(bitPattern: Int64(epoch)) &+ Self.increment)
        key = Self.mix(key ^ UInt64(bitPattern: Int64(index)) &+ Self.increment)
        state = key
    }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// A uniform value in [0, 1) with 53 random bits.
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform value in [lower, upper), as `torch.empty(1).uniform_(lower, upper)`.
    public mutating func nextUniform(from lower: Double, to upper: Double) -> Double {
        lower + (upper - lower) * nextUnitInterval()
    }

    /// A uniform integer in 0 ..< bound without modulo bias (Lemire, 2019).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "the bound must be positive, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// SplitMix64's output function (a variant of MurmurHash3's finaliser).
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
