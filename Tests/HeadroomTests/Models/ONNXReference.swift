import Foundation
import TestSupport
import Torch

/// An ONNX model read back with the tests' own protobuf decoder and run by the operators'
/// definitions in the ONNX specification (written here from the spec, not from Headroom's
/// network): the second path the exported file is checked against.
struct ONNXReference {
    struct Failure: Error, CustomStringConvertible { var description: String }

    enum Attribute: Equatable {
        case int(Int), ints([Int]), float(Float)
    }

    struct Node {
        var op: String, inputs: [String], outputs: [String]
        var attributes: [String: Attribute]
    }

    /// A graph input or output: its name and dimensions (a size, or a symbol's name).
    struct Value {
        var name: String
        var elementType: Int
        var dimensions: [String]
    }

    var irVersion = 0
    var opsets: [String: Int] = [:]
    var producer = ""
    var metadata: [String: String] = [:]
    var nodes: [Node] = []
    var initializers: [String: Tensor] = [:]
    var inputs: [Value] = []
    var outputs: [Value] = []

    init(contentsOf url: URL) throws {
        for (number, field) in try ProtobufFields.decode(Array(try Data(contentsOf: url))) {
            switch (number, field) {
            case (1, .varint(let value)): irVersion = Int(value)
            case (2, .bytes(let bytes)): producer = String(decoding: bytes, as: UTF8.self)
            case (7, .bytes(let graph)): try readGraph(graph)
            case (8, .bytes(let opset)):
                let entry = try Self.strings(opset, [1])
                opsets[entry[1]?.first ?? ""] = try Self.ints(opset)[2]?.first
            case (14, .bytes(let entry)):
                let strings = try Self.strings(entry, [1, 2])
                metadata[strings[1]?.first ?? ""] = strings[2]?.first
            default: break
            }
        }
    }

    private mutating func readGraph(_ graph: [UInt8]) throws {
        for (number, field) in try ProtobufFields.decode(graph) {
            guard case .bytes(let bytes) = field else { continue }
            switch number {
            case 1: nodes.append(try Self.node(bytes))
            case 5:
                let (name, tensor) = try Self.tensor(bytes)
                initializers[name] = tensor
            case 11: inputs.append(try Self.value(bytes))
            case 12: outputs.append(try Self.value(bytes))
            default: break
            }
        }
    }

    private static func node(_ bytes: [UInt8]) throws -> Node {
        let strings = try strings(bytes, [1, 2, 4])
        var attributes: [String: Attribute] = [:]
        for case (5, .bytes(let attribute)) in try ProtobufFields.decode(bytes) {
            let name = try Self.strings(attribute, [1])[1]?.first ?? ""
            let ints = try Self.ints(attribute, packed: [8])
            switch ints[20]?.first {
            case 1:
                for case (2, .fixed32(let bits)) in try ProtobufFields.decode(attribute) { attributes[name] = .float(Float(bitPattern: bits)) }
            case 2: attributes[name] = .int(ints[3]?.first ?? 0)
            case 7: attributes[name] = .ints(ints[8] ?? [])
            default: throw Failure(description: "attribute \(name): type \(String(describing: ints[20]))")
            }
        }
        return Node(op: strings[4]?.first ?? "", inputs: strings[1] ?? [], outputs: strings[2] ?? [], attributes: attributes)
    }

    private static func tensor(_ bytes: [UInt8]) throws -> (String, Tensor) {
        let ints = try ints(bytes, packed: [1])
        guard ints[2]?.first == 1 else { throw Failure(description: "initializer data_type \(String(describing: ints[2])), not FLOAT") }
        var raw: [UInt8] = []
        for case (9, .bytes(let data)) in try ProtobufFields.decode(bytes) { raw = data }
        let shape = ints[1] ?? []
        guard raw.count == 4 * shape.reduce(1, *) else { throw Failure(description: "initializer of \(raw.count) bytes for \(shape)") }
        // raw_data is little-endian float32, as this machine's floats are.
        let tensor = try raw.withUnsafeBytes { try Tensor(copying: $0, shape: shape, dtype: .float32) }
        return (try strings(bytes, [8])[8]?.first ?? "", tensor)
    }

    private static func value(_ bytes: [UInt8]) throws -> Value {
        var value = Value(name: try strings(bytes, [1])[1]?.first ?? "", elementType: 0, dimensions: [])
        for case (2, .bytes(let type)) in try ProtobufFields.decode(bytes) {
            for case (1, .bytes(let tensorType)) in try ProtobufFields.decode(type) {
                value.elementType = try ints(tensorType)[1]?.first ?? 0
                for case (2, .bytes(let shape)) in try ProtobufFields.decode(tensorType) {
                    for case (1, .bytes(let dimension)) in try ProtobufFields.decode(shape) {
                        let symbol = try strings(dimension, [2])[2]?.first ?? "?"
                        value.dimensions.append(try ints(dimension)[1]?.first.map(String.init) ?? symbol)
                    }
                }
            }
        }
        return value
    }

    /// The length-delimited fields `numbers` as UTF-8 strings, by number (other fields may be
    /// megabytes of weights).
    private static func strings(_ message: [UInt8], _ numbers: Set<UInt64>) throws -> [UInt64: [String]] {
        var result: [UInt64: [String]] = [:]
        for case let (number, .bytes(bytes)) in try ProtobufFields.decode(message) where numbers.contains(number) {
            result[number, default: []].append(String(decoding: bytes, as: UTF8.self))
        }
        return result
    }

    /// Integer fields by number: plain varints, and the `packed` fields' runs of them.
    private static func ints(_ message: [UInt8], packed: Set<UInt64> = []) throws -> [UInt64: [Int]] {
        var result: [UInt64: [Int]] = [:]
        for (number, field) in try ProtobufFields.decode(message) {
            switch field {
            case .varint(let value): result[number, default: []].append(Int(Int64(bitPattern: value)))
            case .bytes(let bytes) where packed.contains(number):
                result[number, default: []].append(contentsOf: try ProtobufFields.packedVarints(bytes).map { Int(Int64(bitPattern: $0)) })
            default: break
            }
        }
        return result
    }

    /// Every value the graph computes for `input`, by name, the operators as ONNX defines them.
    func run(_ input: Tensor) throws -> [String: Tensor] {
        var values = initializers
        values[try inputs.first.map(\.name) ?? { throw Failure(description: "no graph input") }()] = input
        for node in nodes {
            let x = try node.inputs.map { name in
                try values[name] ?? { throw Failure(description: "\(node.op) reads \(name) before it is computed") }()
            }
            values[node.outputs[0]] = try evaluate(node, x)
        }
        return values
    }

    private func evaluate(_ node: Node, _ x: [Tensor]) throws -> Tensor {
        func ints(_ name: String) throws -> [Int] {
            guard case .ints(let values)? = node.attributes[name] else { throw Failure(description: "\(node.op) lacks \(name)") }
            return values
        }
        func padding() throws -> (Int, Int) {
            let pads = try ints("pads")  // [top, left, bottom, right]
            guard pads.count == 4, pads[0] == pads[2], pads[1] == pads[3] else { throw Failure(description: "asymmetric pads \(pads)") }
            return (pads[0], pads[1])
        }
        switch node.op {
        case "Conv":
            let strides = try ints("strides"), dilations = try ints("dilations")
            guard case .int(let group)? = node.attributes["group"], try ints("kernel_shape") == Array(x[1].shape.suffix(2)) else {
                throw Failure(description: "Conv attributes \(node.attributes)")
            }
            return try x[0].conv2d(
                weight: x[1], bias: x.count > 2 ? x[2] : nil, stride: (strides[0], strides[1]), padding: try padding(),
                dilation: (dilations[0], dilations[1]), groups: group)
        case "BatchNormalization":
            // Y = (X − mean) / √(var + ε) · scale + B, per channel.
            guard case .float(let epsilon)? = node.attributes["epsilon"] else { throw Failure(description: "no epsilon") }
            func channel(_ t: Tensor) throws -> Tensor { try t.reshaped([1, -1, 1, 1]) }
            return try (x[0] - channel(x[3])) / (channel(x[4]) + Double(epsilon)).sqrt() * channel(x[1]) + channel(x[2])
        case "Relu": return try x[0].clamped(min: 0)
        case "Add": return try x[0] + x[1]
        case "MaxPool":
            let kernel = try ints("kernel_shape"), strides = try ints("strides")
            return try x[0].maxPool2d(kernelSize: (kernel[0], kernel[1]), stride: (strides[0], strides[1]), padding: try padding())
        case "GlobalAveragePool": return try x[0].mean(dims: [2, 3], keepDims: true)
        case "Flatten":
            guard node.attributes["axis"] == .int(1) else { throw Failure(description: "Flatten \(node.attributes)") }
            return try x[0].reshaped([x[0].shape[0], -1])
        case "Gemm":
            // Y = A · Bᵀ + C with transB = 1.
            guard node.attributes["transB"] == .int(1) else { throw Failure(description: "Gemm \(node.attributes)") }
            return try x[0].matmul(x[1].permuted([1, 0])) + x[2]
        case "Softmax":
            guard node.attributes["axis"] == .int(1) else { throw Failure(description: "Softmax \(node.attributes)") }
            let shifted = try x[0] - x[0].max(dims: [1], keepDims: true)
            return try shifted.exp() / shifted.exp().sum(dims: [1], keepDims: true)
        default:
            throw Failure(description: "operator \(node.op) is not in this reference")
        }
    }
}
