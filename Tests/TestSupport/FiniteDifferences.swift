public import Torch

/// Central finite differences of the scalar function `f` at `x` (float64 for accuracy):
/// ∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h.
public func numericalGradient(
    of f: (Tensor) throws(TorchError) -> Tensor, at x: Tensor, step h: Double = 1e-6
) throws(TorchError) -> [Double] {
    let base = try x.to(dtype: .float64).array(of: Double.self)
    var gradient = [Double](repeating: 0, count: base.count)
    try withoutGradient { () throws(TorchError) in
        for i in base.indices {
            var plus = base
            plus[i] += h
            var minus = base
            minus[i] -= h
            let up = try f(Tensor(plus, shape: x.shape)).item()
            let down = try f(Tensor(minus, shape: x.shape)).item()
            gradient[i] = (up - down) / (2 * h)
        }
    }
    return gradient
}

/// The gradient autograd computes for `f` at `x`.
public func autogradGradient(of f: (Tensor) throws(TorchError) -> Tensor, at x: Tensor) throws(TorchError) -> [Double] {
    let variable = try x.to(dtype: .float64).clone().requiringGradient()
    try f(variable).backward()
    guard let grad = variable.grad else { throw .failed("no gradient reached the input") }
    return try grad.array(of: Double.self)
}
