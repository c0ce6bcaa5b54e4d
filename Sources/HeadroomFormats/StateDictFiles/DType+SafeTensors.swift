public import TorchTypes

extension DType {
    /// The name the safetensors format gives this type, for example "BF16".
    public var safeTensorsName: String {
        switch self {
        case .float64: "F64"
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }

    /// The type a safetensors header names, or nil for names Headroom does not read
    /// (the 8-bit floats and unsigned 16/32/64-bit types are refused, not carried as bytes).
    public init?(safeTensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safeTensorsName == safeTensorsName }) else { return nil }
        self = match
    }

    /// Position in the safetensors library's own type order (`Dtype` in its Rust source).
    /// Its writer places larger ranks first, which keeps every tensor aligned to its
    /// element size without padding.
    var safeTensorsLayoutRank: Int {
        switch self {
        case .bool: 0
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .float16: 4
        case .bfloat16: 5
        case .int32: 6
        case .float32: 7
        case .float64: 8
        case .int64: 9
        }
    }
}
