import Foundation
public import Testing
public import Torch

/// Checks that `actual` has `expected`'s shape and lies within `tolerance` of it, as
/// ‖actual − expected‖ / ‖expected‖ over the whole tensor.
public func expectClose(
    _ actual: Tensor, _ expected: [Double], shape: [Int]? = nil, within tolerance: Tolerance = .rounding(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        if let shape, actual.shape != shape {
            Issue.record("shape \(actual.shape) != expected \(shape)", sourceLocation: sourceLocation)
            return
        }
        let values = try actual.to(dtype: .float64).array(of: Double.self)
        expectClose(values, expected, within: tolerance, sourceLocation: sourceLocation)
    } catch {
        Issue.record("reading the tensor failed: \(error)", sourceLocation: sourceLocation)
    }
}

/// Tensor against tensor: shapes first, then values.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, within tolerance: Tolerance = .rounding(), sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let values = try expected.to(dtype: .float64).array(of: Double.self)
        expectClose(actual, values, shape: expected.shape, within: tolerance, sourceLocation: sourceLocation)
    } catch {
        Issue.record("reading the tensor failed: \(error)", sourceLocation: sourceLocation)
    }
}

/// Two arrays of the same length, compared as vectors.
public func expectClose(
    _ actual: [Double], _ expected: [Double], within tolerance: Tolerance = .rounding(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose([actual], [expected], within: tolerance, sourceLocation: sourceLocation)
}

/// Many tensors against as many (gradients, states), each within `tolerance` on its own;
/// the worst is what the margin log records.
public func expectClose(
    _ actual: [[Double]], _ expected: [[Double]], within tolerance: Tolerance, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(actual.count) tensors != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = 0.0
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        guard a.count == e.count else {
            Issue.record("tensor \(index): \(a.count) values != expected \(e.count)", sourceLocation: sourceLocation)
            continue
        }
        let distance = relativeDistance(a, e)
        worst = max(worst, distance)
        guard !(distance <= tolerance.bound) else { continue }
        let element = zip(a, e).enumerated().max { abs($0.element.0 - $0.element.1) < abs($1.element.0 - $1.element.1) }
        let detail = element.map { "; worst element \($0.offset): \($0.element.0) != \($0.element.1)" } ?? ""
        let which = actual.count > 1 ? "tensor \(index): " : ""
        Issue.record(
            "\(which)‖a − e‖/‖e‖ = \(distance.formatted3) > \(tolerance)\(detail)\nactual:   \(a.prefix(16))\nexpected: \(e.prefix(16))",
            sourceLocation: sourceLocation)
    }
    ToleranceMargins.record(worst, tolerance, at: sourceLocation)
}

/// ‖a − e‖ / ‖e‖, or ‖a − e‖ when e is zero; infinite when either holds a NaN.
public func relativeDistance(_ actual: [Double], _ expected: [Double]) -> Double {
    var difference = 0.0
    var reference = 0.0
    for (a, e) in zip(actual, expected) {
        difference += (a - e) * (a - e)
        reference += e * e
    }
    guard !difference.isNaN else { return .infinity }
    return reference > 0 ? (difference / reference).squareRoot() : difference.squareRoot()
}

/// With HEADROOM_TEST_MARGINS=FILE, every comparison appends "location distance bound name"
/// to FILE: how far each result is from its bound on this machine (`make test-portability`
/// prints them per instruction set).
enum ToleranceMargins {
    static let path = ProcessInfo.processInfo.environment["HEADROOM_TEST_MARGINS"]
    static let lock = NSLock()

    static func record(_ distance: Double, _ tolerance: Tolerance, at location: SourceLocation) {
        guard let path else { return }
        let line = "\(location.fileName):\(location.line)\t\(distance.formatted3)\t\(tolerance.bound.formatted3)\t\(tolerance.name)\n"
        lock.withLock {
            guard let handle = FileHandle(forWritingAtPath: path) ?? {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                return FileHandle(forWritingAtPath: path)
            }() else { return }
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        }
    }
}
