extension ResNet.Architecture {
    /// The architecture whose torchvision state dict has these keys and shapes, for a file that
    /// does not say (a bare `torch.save(model.state_dict())`): the kind of block (`conv3` only
    /// in bottlenecks), the blocks in each stage, and the first bottleneck's 3×3 convolution,
    /// [width, width / groups, 3, 3], which tells ResNet, ResNeXt and Wide ResNet apart.
    public static func matching(stateDict shapes: [String: [Int]]) -> Self? {
        guard shapes["fc.weight"] != nil else { return nil }
        let counts = (1...4).map { stage in
            let prefix = "layer\(stage)."
            return Set(shapes.keys.compactMap { $0.hasPrefix(prefix) ? Int($0.dropFirst(prefix.count).prefix { $0 != "." }) : nil }).count
        }
        let bottleneck = shapes["layer1.0.conv3.weight"] != nil
        let grouped = shapes["layer1.0.conv2.weight"].map { Array($0.prefix(2)) }
        return allCases.first { candidate in
            guard candidate.blocks.bottleneck == bottleneck, candidate.blocks.counts == counts else { return false }
            guard bottleneck else { return true }
            let width = candidate.bottleneckWidth(planes: 64)
            return grouped == [width, width / candidate.grouping.groups]
        }
    }
}
