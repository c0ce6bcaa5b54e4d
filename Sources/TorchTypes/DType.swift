/// Element types Headroom uses; the raw values are the shim's `ctorch_dtype` codes.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 0
    case float64 = 1
    case float16 = 2
    case bfloat16 = 3
    case int64 = 4
    case int32 = 5
    case uint8 = 6
    case bool = 7
    case int16 = 8
    case int8 = 9

    /// Bytes per element.
    public var elementSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .uint8, .bool, .int8: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: true
        default: false
        }
    }

    /// PyTorch's name, e.g. "float32".
    public var description: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .int64: "int64"
        case .int32: "int32"
        case .uint8: "uint8"
        case .bool: "bool"
        case .int16: "int16"
        case .int8: "int8"
        }
    }
}

/// A Swift type whose values a tensor can hold with the same bit layout.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
