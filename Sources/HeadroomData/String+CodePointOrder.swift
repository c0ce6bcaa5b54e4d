extension String {
    /// Python's `str` ordering: by Unicode scalar values, with no normalisation.
    ///
    /// Swift's `<` compares canonically equivalent strings as equal, which would order
    /// classes and files differently from torchvision's `sorted()`. A byte that is not UTF-8
    /// (see `PathNames`) sorts where Python's surrogateescape puts it, at U+DC00 + byte.
    func precedesInCodePointOrder(_ other: String) -> Bool {
        unicodeScalars.lazy.map(\.pythonOrder).lexicographicallyPrecedes(other.unicodeScalars.lazy.map(\.pythonOrder))
    }
}

extension Sequence<String> {
    /// The strings sorted as Python's `sorted()` would sort them.
    func sortedByCodePoints() -> [String] {
        sorted { $0.precedesInCodePointOrder($1) }
    }
}

extension Unicode.Scalar {
    /// The code point Python holds for this scalar of a file name.
    fileprivate var pythonOrder: UInt32 {
        PathNames.escapes.contains(value) ? value - 0xF700 + 0xDC00 : value
    }
}
