public import Torch
public import TorchNN

/// torchvision's ResNet (`torchvision.models.resnet`), block for block and name for name,
/// so its state dicts load into torchvision and back.
public final class ResNet: UnaryLayer {
    public enum Architecture: String, CaseIterable, Sendable, Codable {
        case resnet18, resnet34, resnet50, resnet101, resnet152
        case resnext50_32x4d, resnext101_32x8d, resnext101_64x4d
        case wide_resnet50_2, wide_resnet101_2

        /// Block type and blocks per stage, as torchvision's builders give them.
        var blocks: (bottleneck: Bool, counts: [Int]) {
            switch self {
            case .resnet18: (false, [2, 2, 2, 2])
            case .resnet34: (false, [3, 4, 6, 3])
            case .resnet50, .resnext50_32x4d, .wide_resnet50_2: (true, [3, 4, 6, 3])
            case .resnet101, .resnext101_32x8d, .resnext101_64x4d, .wide_resnet101_2: (true, [3, 4, 23, 3])
            case .resnet152: (true, [3, 8, 36, 3])
            }
        }

        /// The bottleneck's 3×3 convolution in `groups` groups of `widthPerGroup` channels per 64
        /// of the stage's planes (torchvision's `groups` and `width_per_group`): ResNeXt's
        /// cardinality, and Wide ResNet's doubled width.
        var grouping: (groups: Int, widthPerGroup: Int) {
            switch self {
            case .resnext50_32x4d: (32, 4)
            case .resnext101_32x8d: (32, 8)
            case .resnext101_64x4d: (64, 4)
            case .wide_resnet50_2, .wide_resnet101_2: (1, 128)
            default: (1, 64)
            }
        }

        /// The channels of a bottleneck's 3×3 convolution in a stage of `planes` (torchvision:
        /// `int(planes * (width_per_group / 64.)) * groups`).
        func bottleneckWidth(planes: Int) -> Int {
            planes * grouping.widthPerGroup / 64 * grouping.groups
        }
    }

    public let architecture: Architecture
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    public let stages: [Sequential]
    public private(set) var fc: Linear
    public var isTraining = true

    /// A freshly initialised network with torchvision's initialisation: Kaiming-normal
    /// (fan_out, ReLU gain) convolutions, BatchNorm weight 1 and bias 0, PyTorch's default
    /// Linear; with `zeroInitResidual`, each block's last BatchNorm starts at weight 0.
    /// `inputBands`: the channels `conv1` takes (3 for RGB, 1 for grey, 13 for Sentinel-2).
    public init(
        _ architecture: Architecture, classCount: Int = 1000, inputBands: Int = 3, zeroInitResidual: Bool = false,
        generator: Generator? = nil
    ) throws(TorchError) {
        guard classCount >= 1 else { throw .invalidArgument("a classifier needs at least one class, got \(classCount)") }
        guard inputBands >= 1 else { throw .invalidArgument("a network needs at least one input band, got \(inputBands)") }
        self.architecture = architecture
        let (bottleneck, counts) = architecture.blocks
        let expansion = bottleneck ? 4 : 1
        conv1 = try Conv2d(inputChannels: inputBands, outputChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false)
        bn1 = try BatchNorm2d(features: 64)
        var inputChannels = 64
        var stages: [Sequential] = []
        for (index, count) in counts.enumerated() {
            let width = 64 << index
            var blocks: [any UnaryLayer] = []
            for position in 0..<count {
                let stride = position == 0 && index > 0 ? 2 : 1
                let block: any UnaryLayer =
                    bottleneck
                    ? try Bottleneck(
                        inputChannels: inputChannels, planes: width, width: architecture.bottleneckWidth(planes: width), stride: stride,
                        groups: architecture.grouping.groups)
                    : try BasicBlock(inputChannels: inputChannels, width: width, stride: stride)
                blocks.append(block)
                inputChannels = width * expansion
            }
            stages.append(Sequential(blocks))
        }
        self.stages = stages
        fc = try Linear(inputFeatures: 512 * expansion, outputFeatures: classCount, generator: generator)
        try initialize(zeroInitResidual: zeroInitResidual, generator: generator)
    }

    public var classCount: Int { fc.weight.shape[0] }
    /// The channels the network takes.
    public var inputBands: Int { conv1.weight.shape[1] }

    private func initialize(zeroInitResidual: Bool, generator: Generator?) throws(TorchError) {
        try withoutGradient { () throws(TorchError) in
            for (_, module) in namedModules() {
                if let conv = module as? Conv2d {
                    let shape = conv.weight.shape
                    let fanOut = shape[0] * shape[2] * shape[3]
                    try conv.weight.normalInPlace(std: (2 / Double(fanOut)).squareRoot(), generator: generator)
                }
                if zeroInitResidual, let block = module as? any ResidualBlock {
                    try block.lastNorm.weight.fillInPlace(0)
                }
            }
        }
    }

    public var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("maxpool", maxpool)]
            + stages.enumerated().map { ("layer\($0.offset + 1)", $0.element as any Module) }
            + [("fc", fc)]
    }

    /// Logits for a batch of normalised NCHW images, every activation kept for backward.
    public func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        try forward(input, recomputing: [])
    }

    /// Logits, with the activations of `segments` recomputed in backward instead of kept
    /// (activation checkpointing), and the start of the network `streaming` in bands:
    /// memory for compute. The memory plan says which, per step; the network itself holds no
    /// such setting. With `normalising`, `input` is uint8 pixels, normalised band by band
    /// where the start runs in bands and whole otherwise.
    public func forward(
        _ input: Tensor, recomputing segments: Set<Segment>, streaming: Streaming? = nil, normalising: PixelNormalisation? = nil
    ) throws(TorchError) -> Tensor {
        var x: Tensor
        if let streaming {
            // Streaming's statistics passes sum this process's bands alone.
            guard !isBatchNormSynchronized else {
                throw .invalidArgument("a model with synchronised BatchNorm cannot stream: its statistics passes are this process's alone")
            }
            x = try streamed(input, streaming, normalising: normalising)
        } else if let banded = segments.contains(.stem) ? bandedStem(inputRows: input.shape[2], segments: segments) : nil {
            x = try streamed(input, banded, normalising: normalising)
        } else {
            let image = try normalising.map { (normalise) throws(TorchError) in try normalise(input) } ?? input
            x = segments.contains(.stem)
                ? try checkpoint(image, parameters: stemParameters) { [self] (x) throws(TorchError) in try stem(x) }
                : try stem(image)
        }
        for (segment, stage) in zip(Segment.stages, stages) {
            if let streaming, segment <= streaming.through { continue }
            guard segments.contains(segment) else {
                x = try stage(x)
                continue
            }
            // Block by block: a block's recompute holds a block's activations, not a stage's,
            // for the same extra compute.
            for block in stage.layers { x = try block.checkpointed(x) }
        }
        return try fc(x.adaptiveAvgPool2d(outputSize: (1, 1)).flattened(from: 1))
    }

    /// conv1 → bn1 → ReLU → max-pool: the full-resolution start of the network.
    private func stem(_ input: Tensor) throws(TorchError) -> Tensor {
        let x = try bn1(conv1(input))
        try x.reluInPlace()
        return try maxpool(x)
    }

    private var stemParameters: [Tensor] {
        (conv1.namedParameters() + bn1.namedParameters()).map(\.tensor).filter(\.requiresGradient)
    }

    /// Replaces the classifier with a freshly initialised one for `classCount` classes.
    public func replaceClassifier(classCount: Int, generator: Generator? = nil) throws(TorchError) {
        let fresh = try Linear(inputFeatures: fc.weight.shape[1], outputFeatures: classCount, generator: generator)
        try fresh.move(to: fc.weight.device, dtype: fc.weight.dtype)
        fc = fresh
    }

    /// Trains only the classifier: the backbone's parameters stop taking gradients and its
    /// BatchNorms keep their running statistics whatever the mode.
    public func freezeBackbone() throws(TorchError) {
        for (name, module) in namedModules() where name != "fc" {
            for (_, parameter) in module.parameters { try parameter.requiringGradient(false) }
            (module as? BatchNorm2d)?.isFrozen = true
        }
    }
}

extension ResNet {
    /// Synchronises every BatchNorm's training statistics through `synchronization` (nil:
    /// each process alone again); each gets its place in the model as its tag.
    public func synchronizeBatchNorm(with synchronization: BatchNormSynchronization?) {
        for (index, norm) in batchNorms.enumerated() { norm.synchronize(with: synchronization, tag: index + 1) }
    }

    /// Whether synchronised BatchNorm is attached and active now.
    var isBatchNormSynchronized: Bool { bn1.synchronization?.0.isActive ?? false }

    /// Every BatchNorm, in the order of `namedModules`.
    public var batchNorms: [BatchNorm2d] { namedModules().compactMap { $0.module as? BatchNorm2d } }

    /// The fewest samples a training step needs at `resolution` so that every BatchNorm on
    /// batch statistics sees more than one value per channel: layer4's map is ⌈r/32⌉² values
    /// a sample, and the variance of a single value is undefined (PyTorch refuses such a
    /// step; the running variance would become NaN). 1 when BatchNorm is frozen.
    public static func smallestTrainingBatch(resolution: Int, batchNormFrozen: Bool = false) -> Int {
        let side = (resolution + 31) / 32
        return batchNormFrozen || side * side >= 2 ? 1 : 2
    }

    /// ``smallestTrainingBatch(resolution:batchNormFrozen:)`` for this network as it is now.
    public func smallestTrainingBatch(resolution: Int) -> Int {
        Self.smallestTrainingBatch(resolution: resolution, batchNormFrozen: batchNorms.allSatisfy(\.isFrozen))
    }

    /// Every BatchNorm normalises with its running statistics and leaves them as they are,
    /// in training too: results no longer depend on how a batch is cut into micro-batches.
    public func freezeBatchNorm() {
        for (_, module) in namedModules() { (module as? BatchNorm2d)?.isFrozen = true }
    }
}

/// The two residual blocks, seen from the initialisation.
protocol ResidualBlock: UnaryLayer {
    /// The BatchNorm whose weight `zeroInitResidual` zeroes.
    var lastNorm: BatchNorm2d { get }
    /// The convolutions of the main path, in order, and the BatchNorm after each.
    var mainPath: [Conv2d] { get }
    var mainNorms: [BatchNorm2d] { get }
    var downsample: Sequential? { get }
}

/// torchvision's 1×1 convolution + BatchNorm shortcut, used where a block changes shape.
func shortcut(inputChannels: Int, outputChannels: Int, stride: Int) throws(TorchError) -> Sequential? {
    guard stride != 1 || inputChannels != outputChannels else { return nil }
    return Sequential([
        try Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1, stride: stride, bias: false),
        try BatchNorm2d(features: outputChannels),
    ])
}

/// Two 3×3 convolutions with a shortcut (ResNet-18/34).
final class BasicBlock: ResidualBlock {
    let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    let downsample: Sequential?
    var isTraining = true

    init(inputChannels: Int, width: Int, stride: Int) throws(TorchError) {
        conv1 = try Conv2d(inputChannels: inputChannels, outputChannels: width, kernelSize: 3, stride: stride, padding: 1, bias: false)
        bn1 = try BatchNorm2d(features: width)
        conv2 = try Conv2d(inputChannels: width, outputChannels: width, kernelSize: 3, padding: 1, bias: false)
        bn2 = try BatchNorm2d(features: width)
        downsample = try shortcut(inputChannels: inputChannels, outputChannels: width, stride: stride)
    }

    var lastNorm: BatchNorm2d { bn2 }
    var mainPath: [Conv2d] { [conv1, conv2] }
    var mainNorms: [BatchNorm2d] { [bn1, bn2] }

    var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)] + (downsample.map { [("downsample", $0)] } ?? [])
    }

    func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        let out = try bn1(conv1(input))
        try out.reluInPlace()
        let result = try bn2(conv2(out))
        try result += downsample?(input) ?? input
        try result.reluInPlace()
        return result
    }
}

/// 1×1 → 3×3 → 1×1 convolutions with a shortcut, 4× expansion (ResNet-50 and up); the 3×3
/// in `groups` groups for ResNeXt, wider for Wide ResNet (torchvision's `Bottleneck`).
final class Bottleneck: ResidualBlock {
    let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d, conv3: Conv2d, bn3: BatchNorm2d
    let downsample: Sequential?
    var isTraining = true

    init(inputChannels: Int, planes: Int, width: Int, stride: Int, groups: Int) throws(TorchError) {
        conv1 = try Conv2d(inputChannels: inputChannels, outputChannels: width, kernelSize: 1, bias: false)
        bn1 = try BatchNorm2d(features: width)
        conv2 = try Conv2d(
            inputChannels: width, outputChannels: width, kernelSize: 3, stride: stride, padding: 1, groups: groups, bias: false)
        bn2 = try BatchNorm2d(features: width)
        conv3 = try Conv2d(inputChannels: width, outputChannels: planes * 4, kernelSize: 1, bias: false)
        bn3 = try BatchNorm2d(features: planes * 4)
        downsample = try shortcut(inputChannels: inputChannels, outputChannels: planes * 4, stride: stride)
    }

    var lastNorm: BatchNorm2d { bn3 }
    var mainPath: [Conv2d] { [conv1, conv2, conv3] }
    var mainNorms: [BatchNorm2d] { [bn1, bn2, bn3] }

    var children: [(name: String, module: any Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3)]
            + (downsample.map { [("downsample", $0)] } ?? [])
    }

    func callAsFunction(_ input: Tensor) throws(TorchError) -> Tensor {
        let a = try bn1(conv1(input))
        try a.reluInPlace()
        let b = try bn2(conv2(a))
        try b.reluInPlace()
        let result = try bn3(conv3(b))
        try result += downsample?(input) ?? input
        try result.reluInPlace()
        return result
    }
}

extension ResNet {
    /// The names of the BatchNorm layers' weights and biases, found by module type (as
    /// torchvision's `set_weight_decay` finds its normalisation layers), not by name.
    public var normalisationParameterNames: Set<String> {
        var names: Set<String> = []
        for (prefix, module) in namedModules() where module is BatchNorm2d {
            for parameter in module.parameters { names.insert(prefix.isEmpty ? parameter.name : "\(prefix).\(parameter.name)") }
        }
        return names
    }
}
