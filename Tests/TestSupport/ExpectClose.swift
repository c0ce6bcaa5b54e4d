public import Testing
public import Torch

/// Checks that `actual` has `expected`'s shape and that every element satisfies
/// |a − e| ≤ atol + rtol·|e|, as `torch.testing.assert_close` does. Prints both on failure.
public func expectClose(
    _ actual: Tensor, _ expected: [Double], shape: [Int]? = nil, rtol: Double = 1e-5, atol: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        if let shape, actual.shape != shape {
            Issue.record("shape \(actual.shape) != expected \(shape)", sourceLocation: sourceLocation)
            return
        }
        let values = try actual.to(dtype: .float64).array(of: Double.self)
        expectClose(values, expected, rtol: rtol, atol: atol, sourceLocation: sourceLocation)
    } catch {
        Issue.record("reading the tensor failed: \(error)", sourceLocation: sourceLocation)
    }
}

/// Tensor against tensor: shapes first, then values.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let values = try expected.to(dtype: .float64).array(of: Double.self)
        expectClose(actual, values, shape: expected.shape, rtol: rtol, atol: atol, sourceLocation: sourceLocation)
    } catch {
        Issue.record("reading the tensor failed: \(error)", sourceLocation: sourceLocation)
    }
}

/// Element-wise closeness of two arrays of the same length.
public func expectClose(
    _ actual: [Double], _ expected: [Double], rtol: Double = 1e-5, atol: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(actual.count) values != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    let worst = zip(actual, expected).enumerated().first { _, pair in
        !(abs(pair.0 - pair.1) <= atol + rtol * abs(pair.1))
    }
    if let (index, pair) = worst {
        Issue.record(
            "element \(index): \(pair.0) != \(pair.1) (rtol \(rtol), atol \(atol))\nactual:   \(actual.prefix(32))\nexpected: \(expected.prefix(32))",
            sourceLocation: sourceLocation)
    }
}
