import Testing
import TestSupport
import Torch
import TorchNN
import TorchOptim
@testable import HeadroomModels

@Suite struct ResNetTests {
    let reference: ResNetReference

    init() throws { reference = try ResNetReference.load() }

    @Test(arguments: ResNet.Architecture.allCases)
    func keysShapesAndCountsAreTorchvisions(_ architecture: ResNet.Architecture) throws {
        let expected = try #require(reference.architectures[architecture.rawValue])
        let model = try ResNet(architecture, classCount: 1000)
        #expect(model.stateDict().map(\.name) == expected.state_dict.map(\.key))
        #expect(model.stateDict().map(\.tensor.shape) == expected.state_dict.map(\.shape))
        #expect(model.parameterCount == expected.parameter_count)
    }

    /// A bare state dict says which architecture it is by its keys and shapes alone: each of
    /// torchvision's, from torchvision's own key and shape lists.
    @Test func everyArchitectureIsToldFromItsStateDict() throws {
        for architecture in ResNet.Architecture.allCases {
            let expected = try #require(reference.architectures[architecture.rawValue])
            let shapes = Dictionary(uniqueKeysWithValues: expected.state_dict.map { ($0.key, $0.shape) })
            #expect(ResNet.Architecture.matching(stateDict: shapes) == architecture)
        }
    }

    @Test func resnet18HasTheKnownParameterCount() throws {
        #expect(try ResNet(.resnet18).parameterCount == 11_689_512)
    }

    /// The network's definition against torchvision's, both in float64 (the reference was
    /// generated so): eval and train-mode logits and BatchNorm's running statistics.
    @Test(arguments: [ResNet.Architecture.resnet18, .resnet50, .resnext50_32x4d, .wide_resnet50_2])
    func logitsMatchTorchvision(_ architecture: ResNet.Architecture) throws {
        let expected = try #require(reference.architectures[architecture.rawValue])
        let model = try ResNetReference.model(architecture)
        let x = try reference.input()
        model.eval()
        let evalLogits = try withoutGradient { try model(x) }
        expectClose(evalLogits, try #require(expected.eval_logits), shape: [2, 10], within: .exactInFloat64)
        model.train()
        let trainLogits = try withoutGradient { try model(x) }
        expectClose(trainLogits, try #require(expected.train_logits), shape: [2, 10], within: .exactInFloat64)
        // The running statistics moved as torchvision's did in that one training-mode forward.
        let after = try #require(expected.after_train_forward)
        if case let .values(mean) = after["bn1.running_mean"] { expectClose(model.bn1.runningMean, mean, within: .exactInFloat64) }
        if case let .values(variance) = after["bn1.running_var"] { expectClose(model.bn1.runningVariance, variance, within: .exactInFloat64) }
        if case let .sum(sum) = after["layer4.1.bn2.running_var.sum"] {
            let key = try #require(model.stateDict().first { $0.name == "layer4.1.bn2.running_var" })
            expectClose(try key.tensor.sum(), [sum], within: .exactInFloat64)
        }
    }

    /// The float32 network against the float64 definition: what float32 kernels may differ
    /// by. Eval mode (no batch statistics over 2×2 maps to amplify rounding); the longest
    /// inner products are resnet50's 3·3·512 = 4608 terms, through 50 layers.
    @Test(arguments: [(ResNet.Architecture.resnet18, 18), (.resnet50, 50)])
    func float32LogitsStayWithinFloat32Rounding(_ architecture: ResNet.Architecture, depth: Int) throws {
        let expected = try #require(reference.architectures[architecture.rawValue]?.eval_logits)
        let model = try ResNetReference.model(architecture, type: .float32)
        model.eval()
        let logits = try withoutGradient { try model(reference.input(.float32)) }
        expectClose(logits, expected, shape: [2, 10], within: .acrossKernels(.float32, terms: 4608, depth: depth))
    }

    /// One SGD step (momentum, weight decay) in float64 against torchvision's: the loss, a
    /// few weights, and how far every parameter moved.
    @Test func oneSGDStepMatchesTorchvision() throws {
        let step = reference.sgd_step
        let model = try ResNetReference.model(.resnet18)
        let before = try model.namedParameters().map { try $0.tensor.clone() }
        let optimizer = try SGD(
            parameters: model.namedParameters().map(\.tensor), learningRate: step.lr, momentum: step.momentum,
            weightDecay: step.weight_decay)
        let loss = try model(reference.input()).crossEntropy(targets: Tensor(step.labels))
        try loss.backward()
        try optimizer.step()
        expectClose([try loss.item()], [step.loss], within: .exactInFloat64)
        expectClose(try model.conv1.weight.flattened().slice(dim: 0, 0..<8), step.conv1_weight_first, within: .exactInFloat64)
        expectClose(try model.conv1.weight.sum(), [step.conv1_weight_sum], within: .exactInFloat64)
        let downsample = try #require(model.stateDict().first { $0.name == "layer3.0.downsample.0.weight" })
        expectClose(try downsample.tensor.sum(), [step.layer3_downsample_sum], within: .exactInFloat64)
        expectClose(try model.fc.weight.flattened().slice(dim: 0, 0..<8), step.fc_weight_first, within: .exactInFloat64)
        expectClose(try #require(model.fc.bias), step.fc_bias, within: .exactInFloat64)
        #expect(step.update_norms.map(\.key) == model.namedParameters().map(\.name))
        let moved = try zip(model.namedParameters(), before).map { (after, before) in
            try (after.tensor - before).square().sum().sqrt().item() as Double
        }
        expectClose(moved, step.update_norms.map(\.norm), within: .exactInFloat64)
    }

    @Test func torchvisionInitialisation() throws {
        let model = try ResNet(.resnet18, classCount: 10, zeroInitResidual: true, generator: Generator(seed: 1))
        // Kaiming normal, fan_out, ReLU gain: std √(2 / (64·7·7)) for the stem.
        let stem = try model.conv1.weight.array(of: Float.self).map(Double.init)
        let std = (stem.map { $0 * $0 }.reduce(0, +) / Double(stem.count)).squareRoot()
        let expected = (2.0 / Double(64 * 49)).squareRoot()
        #expect(abs(std - expected) < 0.05 * expected)
        let dict = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
        #expect(try dict["layer1.0.bn2.weight"]!.abs().sum().item() == 0)
        #expect(try dict["layer1.0.bn1.weight"]!.array(of: Float.self).allSatisfy { $0 == 1 })
        #expect(try dict["bn1.bias"]!.abs().sum().item() == 0)
    }

    @Test func freezingTheBackboneLeavesOnlyTheClassifierTraining() throws {
        let model = try ResNet(.resnet18, classCount: 3, generator: Generator(seed: 2))
        try model.freezeBackbone()
        model.train()
        let trainable = model.namedParameters().filter { $0.tensor.requiresGradient }.map(\.name)
        #expect(trainable == ["fc.weight", "fc.bias"])
        let before = try model.bn1.runningMean.array(of: Float.self)
        _ = try model(try Tensor.randn([2, 3, 32, 32], generator: Generator(seed: 3)))
        #expect(try model.bn1.runningMean.array(of: Float.self) == before)
    }

    @Test func aStateDictOfAnotherArchitectureIsRefusedByName() throws {
        let resnet18 = try ResNet(.resnet18, classCount: 10)
        let resnet50 = Dictionary(uniqueKeysWithValues: try ResNet(.resnet50, classCount: 10).stateDict().map { ($0.name, $0.tensor) })
        do {
            try resnet18.load(resnet50)
            Issue.record("loading resnet50 weights into resnet18 succeeded")
        } catch let error as StateDictMismatch {
            #expect(error.report.unexpectedKeys.contains("layer1.0.conv3.weight"))
            #expect(error.report.shapeMismatches.contains { $0.key == "layer1.0.conv1.weight" })
            #expect(error.description.contains("layer1.0.conv3.weight"))
        }
    }

    @Test func stateDictsRoundTripBetweenModels() throws {
        let source = try ResNet(.resnet18, classCount: 4, generator: Generator(seed: 4))
        let target = try ResNet(.resnet18, classCount: 4, generator: Generator(seed: 5))
        let report = try target.load(Dictionary(uniqueKeysWithValues: source.stateDict().map { ($0.name, $0.tensor) }))
        #expect(report.isComplete)
        #expect(report.loadedCount == 122)
        source.eval()
        target.eval()
        let x = try Tensor.randn([1, 3, 32, 32], generator: Generator(seed: 6))
        expectClose(try withoutGradient { try target(x) }, try withoutGradient { try source(x) }, within: .identical)
    }
}
