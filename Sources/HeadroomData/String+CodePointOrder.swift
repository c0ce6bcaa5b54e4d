extension String {
    /// Python's `str` ordering: by Unicode scalar values, with no normalisation.
    ///
    /// Swift's `<` compares canonically equivalent strings as equal, which would order
    /// classes and files differently from torchvision's `sorted()`.
    func precedesInCodePointOrder(_ other: String) -> Bool {
        unicodeScalars.lexicographicallyPrecedes(other.unicodeScalars)
    }
}

extension Sequence<String> {
    /// The strings sorted as Python's `sorted()` would sort them.
    func sortedByCodePoints() -> [String] {
        sorted { $0.precedesInCodePointOrder($1) }
    }
}
