import Foundation
import HeadroomFormats
package import Torch
import TorchNN

extension ResNet {
    /// The network in evaluation mode as an ONNX model (opset 17): input `input`, float
    /// NCHW normalised images with a symbolic batch, height and width; outputs `logits` and
    /// `probabilities` (softmax over the classes). Weights keep torchvision's state-dict names.
    package func onnxModel(producerVersion: String, metadata: [String: String]) throws(TorchError) -> [UInt8] {
        let batch = ONNXGraph.Value.Dimension.symbol("batch")
        var graph = ONNXGraph(input: .init(name: "input", dimensions: [batch, .size(inputBands), .symbol("height"), .symbol("width")]))
        var x = try conv1.emit(into: &graph, input: graph.input.name, name: "conv1")
        x = try bn1.emit(into: &graph, input: x, name: "bn1")
        x = graph.add("Relu", name: "relu", inputs: [x])
        x = maxpool.emit(into: &graph, input: x, name: "maxpool")
        for (index, stage) in stages.enumerated() {
            for (position, block) in stage.layers.enumerated() {
                guard let block = block as? any ResidualBlock else {
                    throw .invalidArgument("ONNX export: layer\(index + 1).\(position) is not a residual block")
                }
                x = try block.emit(into: &graph, input: x, name: "layer\(index + 1).\(position)")
            }
        }
        x = graph.add("GlobalAveragePool", name: "avgpool", inputs: [x])
        x = graph.add("Flatten", name: "flatten", inputs: [x], attributes: [("axis", .int(1))])
        let bias = try fc.bias.map { (bias) throws(TorchError) in try graph.weight("fc.bias", bias) }
        let logits = graph.add(
            "Gemm", name: "logits", inputs: [x, try graph.weight("fc.weight", fc.weight)] + (bias.map { [$0] } ?? []),
            attributes: [("transB", .int(1))])
        _ = graph.add("Softmax", name: "probabilities", inputs: [logits], attributes: [("axis", .int(1))])
        graph.outputs = [
            .init(name: "logits", dimensions: [batch, .size(classCount)]),
            .init(name: "probabilities", dimensions: [batch, .size(classCount)]),
        ]
        return graph.encoded(producerVersion: producerVersion, metadata: metadata)
    }
}

extension ResidualBlock {
    /// conv → BatchNorm (→ ReLU) along the main path, the shortcut, their sum, ReLU.
    fileprivate func emit(into graph: inout ONNXGraph, input: String, name: String) throws(TorchError) -> String {
        let modules = Dictionary(children.map { ($0.name, $0.module) }, uniquingKeysWith: { first, _ in first })
        var x = input
        for (index, conv) in mainPath.enumerated() {
            let position = index + 1
            guard let norm = modules["bn\(position)"] as? BatchNorm2d else {
                throw .invalidArgument("ONNX export: \(name) has no bn\(position)")
            }
            x = try conv.emit(into: &graph, input: x, name: "\(name).conv\(position)")
            x = try norm.emit(into: &graph, input: x, name: "\(name).bn\(position)")
            if position < mainPath.count { x = graph.add("Relu", name: "\(name).relu\(position)", inputs: [x]) }
        }
        var identity = input
        if let downsample {
            guard let conv = downsample.layers.first as? Conv2d, let norm = downsample.layers.last as? BatchNorm2d else {
                throw .invalidArgument("ONNX export: \(name).downsample is not a convolution and a BatchNorm")
            }
            identity = try conv.emit(into: &graph, input: input, name: "\(name).downsample.0")
            identity = try norm.emit(into: &graph, input: identity, name: "\(name).downsample.1")
        }
        let sum = graph.add("Add", name: "\(name).add", inputs: [x, identity])
        return graph.add("Relu", name: "\(name).relu", inputs: [sum])
    }
}

extension Conv2d {
    fileprivate func emit(into graph: inout ONNXGraph, input: String, name: String) throws(TorchError) -> String {
        let kernel = Array(weight.shape.suffix(2))
        var inputs = [input, try graph.weight("\(name).weight", weight)]
        if let bias { inputs.append(try graph.weight("\(name).bias", bias)) }
        return graph.add(
            "Conv", name: name, inputs: inputs,
            attributes: [
                ("kernel_shape", .ints(kernel)),
                ("strides", .ints([stride.0, stride.1])),
                // ONNX pads are [top, left, bottom, right]; PyTorch pads both sides alike.
                ("pads", .ints([padding.0, padding.1, padding.0, padding.1])),
                ("dilations", .ints([dilation.0, dilation.1])),
                ("group", .int(groups)),
            ])
    }
}

extension BatchNorm2d {
    /// Inference mode: the running statistics, as `eval()` uses them.
    fileprivate func emit(into graph: inout ONNXGraph, input: String, name: String) throws(TorchError) -> String {
        graph.add(
            "BatchNormalization", name: name,
            inputs: [
                input, try graph.weight("\(name).weight", weight), try graph.weight("\(name).bias", bias),
                try graph.weight("\(name).running_mean", runningMean), try graph.weight("\(name).running_var", runningVariance),
            ],
            attributes: [("epsilon", .float(Float(epsilon)))])
    }
}

extension MaxPool2d {
    fileprivate func emit(into graph: inout ONNXGraph, input: String, name: String) -> String {
        graph.add(
            "MaxPool", name: name, inputs: [input],
            attributes: [
                ("kernel_shape", .ints([kernelSize, kernelSize])),
                ("strides", .ints([stride, stride])),
                ("pads", .ints([padding, padding, padding, padding])),
            ])
    }
}
