import Foundation
import Headroom
import TestSupport
import Torch
import TorchNN

/// The values `Scripts/make-reference-data.py` recorded from torchvision.
struct ResNetReference: Decodable {
    struct Architecture: Decodable {
        var parameter_count: Int
        var state_dict: [StateEntry]
        var eval_logits: [Double]?
        var train_logits: [Double]?
        var after_train_forward: [String: AfterForward]?
    }

    /// ["conv1.weight", [64, 3, 7, 7]]
    struct StateEntry: Decodable {
        var key: String
        var shape: [Int]
        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            key = try container.decode(String.self)
            shape = try container.decode([Int].self)
        }
    }

    /// ["layer1.0.conv1.weight", 0.0123]
    struct UpdateNorm: Decodable {
        var key: String
        var norm: Double
        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            key = try container.decode(String.self)
            norm = try container.decode(Double.self)
        }
    }

    /// A list of values or a single sum (or null).
    enum AfterForward: Decodable {
        case values([Double]), sum(Double), none
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .none }
            else if let values = try? container.decode([Double].self) { self = .values(values) }
            else { self = .sum(try container.decode(Double.self)) }
        }
    }

    struct SGDStep: Decodable {
        var labels: [Int64]
        var lr: Double
        var momentum: Double
        var weight_decay: Double
        var loss: Double
        var conv1_weight_first: [Double]
        var conv1_weight_sum: Double
        var layer3_downsample_sum: Double
        var fc_weight_first: [Double]
        var fc_bias: [Double]
        /// ‖after − before‖ of every parameter, by name.
        var update_norms: [UpdateNorm]

        enum CodingKeys: String, CodingKey {
            case labels, lr, momentum, weight_decay, loss, update_norms
            case conv1_weight_first = "conv1.weight.first"
            case conv1_weight_sum = "conv1.weight.sum"
            case layer3_downsample_sum = "layer3.0.downsample.0.weight.sum"
            case fc_weight_first = "fc.weight.first"
            case fc_bias = "fc.bias"
        }
    }

    var architectures: [String: Architecture]
    var sgd_step: SGDStep
    var input_shape: [Int]
    /// torchvision's weight enums: [architecture, enum, tag, file name, ImageNet top-1].
    var weights: [[WeightsField]]

    enum WeightsField: Decodable, Equatable {
        case text(String), number(Double)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) { self = .number(number) } else { self = .text(try container.decode(String.self)) }
        }
    }

    static func load() throws -> ResNetReference {
        try Fixtures.json("resnet-reference.json", as: ResNetReference.self)
    }

    /// u_i ∈ [−1, 1], the generator's formula with the same integer arithmetic.
    static func formula(count: Int, tensorIndex: Int) -> [Double] {
        (0..<count).map { Double((($0 * 7919 + tensorIndex * 104729) % 2001) - 1000) / 1000 }
    }

    /// Fills every state-dict entry the way the generator's `fill_deterministically` does.
    static func fillDeterministically(_ model: any Module) throws {
        try withoutGradient {
            for (index, (key, tensor)) in model.stateDict().enumerated() {
                if key.hasSuffix("num_batches_tracked") {
                    try tensor.fillInPlace(0)
                    continue
                }
                let u = formula(count: tensor.count, tensorIndex: index)
                let values: [Double]
                if key.hasSuffix("running_var") {
                    values = u.map { 1 + 0.5 * $0 }
                } else if tensor.rank == 1 && key.hasSuffix("weight") {
                    values = u.map { 1 + 0.1 * $0 }
                } else if tensor.rank == 1 {
                    values = u.map { 0.1 * $0 }
                } else {
                    let fanIn = tensor.count / tensor.shape[0]
                    let scale = (6.0 / Double(fanIn)).squareRoot()
                    values = u.map { $0 * scale }
                }
                try tensor.copyInPlace(from: Tensor(values, shape: tensor.shape))
            }
        }
    }

    /// The generator's input batch, exact in either type.
    func input(_ type: DType = .float64) throws -> Tensor {
        let count = input_shape.reduce(1, *)
        let values = (0..<count).map { Double(($0 * 31) % 257) / 128 - 1 }
        return try Tensor(values, shape: input_shape).to(dtype: type)
    }

    /// A `classCount`-class network of `architecture`, filled as the generator fills it, in `type`.
    static func model(_ architecture: ResNet.Architecture, classCount: Int = 10, type: DType = .float64) throws -> ResNet {
        let model = try ResNet(architecture, classCount: classCount)
        try model.move(dtype: type)
        try fillDeterministically(model)
        return model
    }
}
