import Foundation
import TorchTypes

/// An ONNX inference graph under construction: operator nodes, named weights
/// (initializers), float inputs and outputs whose dimensions may be symbolic. Encodes to a
/// `ModelProto` (IR version 8, opset 17) with string metadata.
package struct ONNXGraph {
    /// Opset 17: every operator used here has had its current definition since 15 or earlier.
    package static let opsetVersion = 17
    /// IR version 8 is what opset 17 was released with; runtimes from 2021 on read it.
    static let irVersion = 8

    package enum Attribute {
        case int(Int)
        case ints([Int])
        case float(Float)
    }

    private struct Node {
        var op: String, name: String, inputs: [String], output: String
        var attributes: [(name: String, value: Attribute)]
    }

    private struct Initializer {
        var name: String, shape: [Int], floats: [UInt8]
    }

    /// A graph input or output: a float tensor whose dimensions are sizes or names.
    package struct Value {
        package enum Dimension { case size(Int), symbol(String) }
        package var name: String
        var dimensions: [Dimension]

        package init(name: String, dimensions: [Dimension]) {
            self.name = name
            self.dimensions = dimensions
        }
    }

    private var nodes: [Node] = []
    private var initializers: [Initializer] = []
    package let input: Value
    package var outputs: [Value] = []

    package init(input: Value) { self.input = input }

    /// Adds a node computing `op` of `inputs`; its output value takes the node's name.
    package mutating func add(
        _ op: String, name: String, inputs: [String], attributes: [(name: String, value: Attribute)] = []
    ) -> String {
        nodes.append(Node(op: op, name: name, inputs: inputs, output: name, attributes: attributes))
        return name
    }

    /// Adds a float32 weight under `name` (`float32Bytes`: the values in row-major order, native
    /// byte order) and returns the name.
    package mutating func weight(_ name: String, shape: [Int], float32Bytes: [UInt8]) -> String {
        initializers.append(Initializer(name: name, shape: shape, floats: float32Bytes))
        return name
    }

    /// The serialised `ModelProto`.
    package func encoded(producerVersion: String, metadata: [String: String]) -> [UInt8] {
        var model = ProtobufWriter()
        model.append(field: 1, int64: Int64(Self.irVersion))
        model.append(field: 2, string: "headroom")
        model.append(field: 3, string: producerVersion)
        model.append(field: 7) { graph in encodeGraph(into: &graph) }
        model.append(field: 8) { opset in
            opset.append(field: 1, string: "")
            opset.append(field: 2, int64: Int64(Self.opsetVersion))
        }
        for key in metadata.keys.sorted() {
            model.append(field: 14) { entry in
                entry.append(field: 1, string: key)
                entry.append(field: 2, string: metadata[key]!)
            }
        }
        return model.bytes
    }

    private func encodeGraph(into graph: inout ProtobufWriter) {
        for node in nodes {
            graph.append(field: 1) { proto in
                for input in node.inputs { proto.append(field: 1, string: input) }
                proto.append(field: 2, string: node.output)
                proto.append(field: 3, string: node.name)
                proto.append(field: 4, string: node.op)
                for (name, value) in node.attributes {
                    proto.append(field: 5) { attribute in Self.encode(attribute: value, named: name, into: &attribute) }
                }
            }
        }
        graph.append(field: 2, string: "headroom")
        for initializer in initializers {
            graph.append(field: 5) { tensor in
                tensor.append(field: 1, packedInt64s: initializer.shape.map(Int64.init))
                tensor.append(field: 2, int64: Int64(1))  // FLOAT
                tensor.append(field: 8, string: initializer.name)
                tensor.append(field: 9, bytes: initializer.floats)  // raw_data: little-endian float32, as ONNX specifies
            }
        }
        graph.append(field: 11) { Self.encode(value: input, into: &$0) }
        for output in outputs { graph.append(field: 12) { Self.encode(value: output, into: &$0) } }
    }

    private static func encode(attribute: Attribute, named name: String, into proto: inout ProtobufWriter) {
        proto.append(field: 1, string: name)
        switch attribute {
        case .float(let value):
            proto.append(field: 2, float: value)
            proto.append(field: 20, int64: Int64(1))  // FLOAT
        case .int(let value):
            proto.append(field: 3, int64: Int64(value))
            proto.append(field: 20, int64: Int64(2))  // INT
        case .ints(let values):
            proto.append(field: 8, packedInt64s: values.map(Int64.init))
            proto.append(field: 20, int64: Int64(7))  // INTS
        }
    }

    private static func encode(value: Value, into proto: inout ProtobufWriter) {
        proto.append(field: 1, string: value.name)
        proto.append(field: 2) { type in
            type.append(field: 1) { tensorType in
                tensorType.append(field: 1, int64: Int64(1))  // FLOAT
                tensorType.append(field: 2) { shape in
                    for dimension in value.dimensions {
                        shape.append(field: 1) { proto in
                            switch dimension {
                            case .size(let size): proto.append(field: 1, int64: Int64(size))
                            case .symbol(let name): proto.append(field: 2, string: name)
                            }
                        }
                    }
                }
            }
        }
    }
}
