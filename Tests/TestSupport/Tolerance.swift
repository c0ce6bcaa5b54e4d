import Foundation
public import Torch

/// How far a result may be from its reference, as ‖actual − expected‖ / ‖expected‖ over the
/// whole tensor, named by why the two can differ at all. The suite's one tolerance policy:
/// a test says which kind of difference it allows, and the bound follows from the
/// computation (the type's rounding, the number of terms summed, the depth), not from a
/// hand-picked pair that happened to pass on one CPU.
public struct Tolerance: Sendable, CustomStringConvertible {
    /// The largest ‖a − e‖ / ‖e‖ accepted (‖a − e‖ itself when e is all zeros).
    public let bound: Double
    /// Why the two sides may differ, for the failure message and the margin log.
    public let name: String

    public init(bound: Double, name: String) {
        self.bound = bound
        self.name = name
    }

    public var description: String { "\(name) (≤ \(bound.formatted3))" }

    /// The same computation on the same kernels, or a value stored and read back: not one
    /// bit may differ.
    public static let identical = Tolerance(bound: 0, name: "identical")

    /// Two computations that are equal in exact arithmetic — micro-batches against the whole
    /// batch, a checkpointed or banded network against the plain one, N processes against
    /// one, a resumed run against an uninterrupted one — both run in float64 (`--precision
    /// fp64`). Only the order of summation differs: a ResNet step's rounding is of order
    /// depth · √terms · ε64 ≈ 20 · 70 · 2.2e-16 ≈ 3e-13, compounded over a few steps; 1e-9
    /// leaves three orders of magnitude for that. A real bug — a micro-batch's loss weighed
    /// wrongly, a BatchNorm update missed — moves the result by 1e-4 or more (the note of
    /// the portable-tests issue reports the figures), five orders above the bound.
    public static let exactInFloat64 = Tolerance(bound: 1e-9, name: "exact in float64")

    /// A computation in `type` against a float64 reference of the same definition, or
    /// against the same computation run by other kernels (another instruction set, Winograd
    /// or direct convolution, another blocking). Each layer's inner products of at most
    /// `terms` products carry a relative error of about √terms · ε (rounding errors of
    /// blocked sums behave like a random walk), and `depth` layers in sequence add theirs.
    /// The factor 8 covers what the random-walk estimate leaves out (Winograd's transforms,
    /// BatchNorm's division by a batch deviation) — measured margins are in the note of the
    /// portable-tests issue.
    public static func acrossKernels(_ type: DType = .float32, terms: Int, depth: Int = 1) -> Tolerance {
        let bound = 8 * Double(depth) * Double(terms).squareRoot() * type.epsilon
        return Tolerance(bound: bound, name: "\(type) across kernels (\(terms) terms, depth \(depth))")
    }

    /// Two runs of the same computation in `type`, by the same kernels, that sum in another
    /// order (channels-last against contiguous, a sum taken in parts): both sides carry the
    /// rounding of `terms`-term sums, so twice `acrossKernels`'s per-layer figure.
    public static func acrossSummationOrders(_ type: DType = .float32, terms: Int, depth: Int = 1) -> Tolerance {
        let bound = 2 * 8 * Double(depth) * Double(terms).squareRoot() * type.epsilon
        return Tolerance(bound: bound, name: "\(type) across summation orders (\(terms) terms, depth \(depth))")
    }

    /// Values rounded once to `type` (a conversion), or a few elementary operations in it,
    /// against values known exactly: a few units of `type`'s rounding.
    public static func rounding(_ type: DType = .float32, operations: Int = 4) -> Tolerance {
        Tolerance(bound: Double(operations) * type.epsilon, name: "\(type) rounding (\(operations) operations)")
    }

    /// Not rounding but an approximation the test accepts, with the reason: an optimiser's
    /// convergence, or a change of BatchNorm's batch that is meant to move the result a little.
    public static func approximation(_ bound: Double, _ why: String) -> Tolerance {
        Tolerance(bound: bound, name: why)
    }

    /// Central finite differences in float64 with step h against autograd: truncation
    /// O(h²) plus cancellation ε64 / h, each far below 1e-6 for smooth functions of unit
    /// scale at h = 1e-6.
    public static let finiteDifferences = Tolerance(bound: 1e-6, name: "central finite differences")
}

extension DType {
    /// The distance from 1 to the next larger representable number.
    public var epsilon: Double {
        switch self {
        case .float64: 0x1p-52
        case .float32: 0x1p-23
        case .bfloat16: 0x1p-7
        case .float16: 0x1p-10
        default: 0
        }
    }
}

extension Double {
    var formatted3: String {
        guard self != 0 else { return "0" }
        guard isFinite else { return "\(self)" }
        let exponent = Int(log10(abs(self)).rounded(.down))
        let mantissa = self / pow(10, Double(exponent))
        return "\((mantissa * 100).rounded() / 100)e\(exponent)"
    }
}
