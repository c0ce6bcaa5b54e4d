import CTorch

/// A number used as the other operand of a tensor op. Like a Python number, it takes part
/// in type promotion as a scalar: `intTensor * 2` stays int64, `intTensor * 0.5` is float.
public protocol ScalarOperand: Sendable {
    var scalarValue: Double { get }
    var isIntegral: Bool { get }
}

extension Int: ScalarOperand {
    public var scalarValue: Double { Double(self) }
    public var isIntegral: Bool { true }
}

extension Double: ScalarOperand {
    public var scalarValue: Double { self }
    public var isIntegral: Bool { false }
}

extension Float: ScalarOperand {
    public var scalarValue: Double { Double(self) }
    public var isIntegral: Bool { false }
}

enum BinaryOp: Int32 {
    case add = 0, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr
}

enum UnaryOp: Int32 {
    case neg = 0, abs, exp, log, sqrt, rsqrt, relu, sigmoid, tanh, square, sign, floor, ceil, round
    case logicalNot, isFinite, reciprocal
}

extension Tensor {
    func binary(_ op: BinaryOp, _ other: Tensor) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_binary(op.rawValue, handle, other.handle, $0) }
    }

    func binary(_ op: BinaryOp, _ scalar: some ScalarOperand) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_binary_scalar(op.rawValue, handle, scalar.scalarValue, scalar.isIntegral, $0) }
    }

    func unary(_ op: UnaryOp) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_unary(op.rawValue, handle, $0) }
    }

    func unaryInPlace(_ op: UnaryOp) throws(TorchError) {
        try check(ctorch_unary_(op.rawValue, handle))
    }

    public static func + (lhs: Tensor, rhs: Tensor) throws(TorchError) -> Tensor { try lhs.binary(.add, rhs) }
    public static func - (lhs: Tensor, rhs: Tensor) throws(TorchError) -> Tensor { try lhs.binary(.sub, rhs) }
    public static func * (lhs: Tensor, rhs: Tensor) throws(TorchError) -> Tensor { try lhs.binary(.mul, rhs) }
    public static func / (lhs: Tensor, rhs: Tensor) throws(TorchError) -> Tensor { try lhs.binary(.div, rhs) }

    public static func + (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) -> Tensor { try lhs.binary(.add, rhs) }
    public static func - (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) -> Tensor { try lhs.binary(.sub, rhs) }
    public static func * (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) -> Tensor { try lhs.binary(.mul, rhs) }
    public static func / (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) -> Tensor { try lhs.binary(.div, rhs) }

    public static func + (lhs: some ScalarOperand, rhs: Tensor) throws(TorchError) -> Tensor { try rhs.binary(.add, lhs) }
    public static func * (lhs: some ScalarOperand, rhs: Tensor) throws(TorchError) -> Tensor { try rhs.binary(.mul, lhs) }
    public static func - (lhs: some ScalarOperand, rhs: Tensor) throws(TorchError) -> Tensor {
        try rhs.unary(.neg).binary(.add, lhs)
    }

    public static prefix func - (tensor: Tensor) throws(TorchError) -> Tensor { try tensor.unary(.neg) }

    /// Elementwise power.
    public func pow(_ exponent: Tensor) throws(TorchError) -> Tensor { try binary(.pow, exponent) }
    public func pow(_ exponent: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.pow, exponent) }
    public func maximum(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.maximum, other) }
    public func minimum(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.minimum, other) }

    // Comparisons give bool tensors; PyTorch's names, since `==` must stay Equatable's.
    public func eq(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.eq, other) }
    public func ne(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.ne, other) }
    public func lt(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.lt, other) }
    public func le(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.le, other) }
    public func gt(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.gt, other) }
    public func ge(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.ge, other) }
    public func eq(_ other: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.eq, other) }
    public func ne(_ other: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.ne, other) }
    public func lt(_ other: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.lt, other) }
    public func le(_ other: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.le, other) }
    public func gt(_ other: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.gt, other) }
    public func ge(_ other: some ScalarOperand) throws(TorchError) -> Tensor { try binary(.ge, other) }
    public func logicalAnd(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.logicalAnd, other) }
    public func logicalOr(_ other: Tensor) throws(TorchError) -> Tensor { try binary(.logicalOr, other) }
    public func logicalNot() throws(TorchError) -> Tensor { try unary(.logicalNot) }

    public func abs() throws(TorchError) -> Tensor { try unary(.abs) }
    public func exp() throws(TorchError) -> Tensor { try unary(.exp) }
    public func log() throws(TorchError) -> Tensor { try unary(.log) }
    public func sqrt() throws(TorchError) -> Tensor { try unary(.sqrt) }
    public func rsqrt() throws(TorchError) -> Tensor { try unary(.rsqrt) }
    public func square() throws(TorchError) -> Tensor { try unary(.square) }
    public func sign() throws(TorchError) -> Tensor { try unary(.sign) }
    public func floor() throws(TorchError) -> Tensor { try unary(.floor) }
    public func ceil() throws(TorchError) -> Tensor { try unary(.ceil) }
    public func rounded() throws(TorchError) -> Tensor { try unary(.round) }
    public func reciprocal() throws(TorchError) -> Tensor { try unary(.reciprocal) }
    public func sigmoid() throws(TorchError) -> Tensor { try unary(.sigmoid) }
    public func tanh() throws(TorchError) -> Tensor { try unary(.tanh) }
    /// Elementwise: not NaN and not ±infinity.
    public func isFinite() throws(TorchError) -> Tensor { try unary(.isFinite) }

    /// Clamps into [min, max]; a nil bound is open.
    public func clamped(min: Double? = nil, max: Double? = nil) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_clamp(handle, min ?? 0, min != nil, max ?? 0, max != nil, $0) }
    }

    /// `condition ? self : other`, elementwise.
    public func `where`(_ condition: Tensor, else other: Tensor) throws(TorchError) -> Tensor {
        try Tensor.make { ctorch_where(condition.handle, handle, other.handle, $0) }
    }
}

// In-place forms: what optimisers and gradient accumulation use to avoid new allocations.
extension Tensor {
    public static func += (lhs: Tensor, rhs: Tensor) throws(TorchError) { try lhs.inPlace(.add, rhs) }
    public static func -= (lhs: Tensor, rhs: Tensor) throws(TorchError) { try lhs.inPlace(.sub, rhs) }
    public static func *= (lhs: Tensor, rhs: Tensor) throws(TorchError) { try lhs.inPlace(.mul, rhs) }
    public static func /= (lhs: Tensor, rhs: Tensor) throws(TorchError) { try lhs.inPlace(.div, rhs) }
    public static func += (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) { try lhs.inPlace(.add, rhs) }
    public static func -= (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) { try lhs.inPlace(.sub, rhs) }
    public static func *= (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) { try lhs.inPlace(.mul, rhs) }
    public static func /= (lhs: Tensor, rhs: some ScalarOperand) throws(TorchError) { try lhs.inPlace(.div, rhs) }

    func inPlace(_ op: BinaryOp, _ other: Tensor) throws(TorchError) {
        try check(ctorch_binary_(op.rawValue, handle, other.handle))
    }

    func inPlace(_ op: BinaryOp, _ scalar: some ScalarOperand) throws(TorchError) {
        try check(ctorch_binary_scalar_(op.rawValue, handle, scalar.scalarValue, scalar.isIntegral))
    }

    /// self += alpha · other.
    public func addInPlace(_ other: Tensor, alpha: Double = 1) throws(TorchError) {
        try check(ctorch_add_scaled_(handle, other.handle, alpha))
    }

    /// self += value · a · b.
    public func addcmulInPlace(_ a: Tensor, _ b: Tensor, value: Double = 1) throws(TorchError) {
        try check(ctorch_addcmul_(handle, a.handle, b.handle, value))
    }

    /// self += value · a / b.
    public func addcdivInPlace(_ a: Tensor, _ b: Tensor, value: Double = 1) throws(TorchError) {
        try check(ctorch_addcdiv_(handle, a.handle, b.handle, value))
    }

    /// SGD's update of `parameters` from `gradients` in one fused pass per tensor (PyTorch's
    /// `SGD(fused=True)`); `momentumBuffers` are empty when momentum is 0, and are set to the
    /// first direction when `isFirstStep`.
    public static func fusedSGDStep(
        parameters: [Tensor], gradients: [Tensor], momentumBuffers: [Tensor], weightDecay: Double, momentum: Double,
        learningRate: Double, dampening: Double, nesterov: Bool, isFirstStep: Bool
    ) throws(TorchError) {
        guard parameters.count == gradients.count, momentumBuffers.isEmpty || momentumBuffers.count == parameters.count else {
            throw .invalidArgument("fused SGD needs one gradient (and one momentum buffer) per parameter")
        }
        let p: [OpaquePointer?] = parameters.map(\.handle)
        let g: [OpaquePointer?] = gradients.map(\.handle)
        let b: [OpaquePointer?] = momentumBuffers.map(\.handle)
        let status = withExtendedLifetime((parameters, gradients, momentumBuffers)) {
            ctorch_fused_sgd_(p, g, b, p.count, weightDecay, momentum, learningRate, dampening, nesterov, isFirstStep)
        }
        try check(status)
    }

    /// Adam's (or AdamW's) update in one fused pass per tensor (PyTorch's `Adam(fused=True)`);
    /// `steps` are float scalars that already count this step.
    public static func fusedAdamStep(
        parameters: [Tensor], gradients: [Tensor], averages: [Tensor], squaredAverages: [Tensor], steps: [Tensor],
        learningRate: Double, betas: (Double, Double), weightDecay: Double, epsilon: Double, decoupledWeightDecay: Bool
    ) throws(TorchError) {
        let count = parameters.count
        guard [gradients.count, averages.count, squaredAverages.count, steps.count].allSatisfy({ $0 == count }) else {
            throw .invalidArgument("fused Adam needs one gradient, two moments and one step per parameter")
        }
        let handles: [[OpaquePointer?]] = [parameters, gradients, averages, squaredAverages, steps].map { $0.map(\.handle) }
        let status = withExtendedLifetime((parameters, gradients, averages, squaredAverages, steps)) {
            ctorch_fused_adam_(
                handles[0], handles[1], handles[2], handles[3], handles[4], count, learningRate, betas.0, betas.1, weightDecay,
                epsilon, decoupledWeightDecay)
        }
        try check(status)
    }

    public func sqrtInPlace() throws(TorchError) { try unaryInPlace(.sqrt) }
    public func reluInPlace() throws(TorchError) { try unaryInPlace(.relu) }
}
