import Foundation

/// torchvision's published ImageNet weights, asked for by name (`--weights imagenet`), under
/// torchvision's own file names so that PyTorch's cache and Headroom's are one.
public struct PretrainedWeights: Sendable, Equatable, CustomStringConvertible {
    public var architecture: ResNet.Architecture
    /// torchvision's enum name, e.g. `IMAGENET1K_V1`.
    public var tag: String
    /// torchvision's file name; the part after the last dash is a prefix of its SHA-256.
    public var fileName: String
    /// Top-1 on ImageNet-1k as torchvision's model card gives it, to say what was chosen.
    public var imageNetTop1: Double

    public var description: String { "torchvision \(architecture.rawValue) \(tag) (ImageNet top-1 \(imageNetTop1)%)" }

    /// Every set of weights this version knows, from torchvision.models' weight enums.
    public static let catalog: [PretrainedWeights] = [
        .init(architecture: .resnet18, tag: "IMAGENET1K_V1", fileName: "resnet18-f37072fd.pth", imageNetTop1: 69.758),
        .init(architecture: .resnet34, tag: "IMAGENET1K_V1", fileName: "resnet34-b627a593.pth", imageNetTop1: 73.314),
        .init(architecture: .resnet50, tag: "IMAGENET1K_V1", fileName: "resnet50-0676ba61.pth", imageNetTop1: 76.13),
        .init(architecture: .resnet50, tag: "IMAGENET1K_V2", fileName: "resnet50-11ad3fa6.pth", imageNetTop1: 80.858),
        .init(architecture: .resnet101, tag: "IMAGENET1K_V1", fileName: "resnet101-63fe2227.pth", imageNetTop1: 77.374),
        .init(architecture: .resnet101, tag: "IMAGENET1K_V2", fileName: "resnet101-cd907fc2.pth", imageNetTop1: 81.886),
        .init(architecture: .resnet152, tag: "IMAGENET1K_V1", fileName: "resnet152-394f9c45.pth", imageNetTop1: 78.312),
        .init(architecture: .resnet152, tag: "IMAGENET1K_V2", fileName: "resnet152-f82ba261.pth", imageNetTop1: 82.284),
        .init(architecture: .resnext50_32x4d, tag: "IMAGENET1K_V1", fileName: "resnext50_32x4d-7cdf4587.pth", imageNetTop1: 77.618),
        .init(architecture: .resnext50_32x4d, tag: "IMAGENET1K_V2", fileName: "resnext50_32x4d-1a0047aa.pth", imageNetTop1: 81.198),
        .init(architecture: .resnext101_32x8d, tag: "IMAGENET1K_V1", fileName: "resnext101_32x8d-8ba56ff5.pth", imageNetTop1: 79.312),
        .init(architecture: .resnext101_32x8d, tag: "IMAGENET1K_V2", fileName: "resnext101_32x8d-110c445d.pth", imageNetTop1: 82.834),
        .init(architecture: .resnext101_64x4d, tag: "IMAGENET1K_V1", fileName: "resnext101_64x4d-173b62eb.pth", imageNetTop1: 83.246),
        .init(architecture: .wide_resnet50_2, tag: "IMAGENET1K_V1", fileName: "wide_resnet50_2-95faca4d.pth", imageNetTop1: 78.468),
        .init(architecture: .wide_resnet50_2, tag: "IMAGENET1K_V2", fileName: "wide_resnet50_2-9ba9bcbe.pth", imageNetTop1: 81.602),
        .init(architecture: .wide_resnet101_2, tag: "IMAGENET1K_V1", fileName: "wide_resnet101_2-32ee1156.pth", imageNetTop1: 78.848),
        .init(architecture: .wide_resnet101_2, tag: "IMAGENET1K_V2", fileName: "wide_resnet101_2-d733dc28.pth", imageNetTop1: 82.51),
    ]

    /// torchvision's name for the weight enum of `architecture`, as `--weights` also takes it
    /// (`ResNet50_Weights.IMAGENET1K_V2`).
    public static func enumName(of architecture: ResNet.Architecture) -> String {
        switch architecture {
        case .resnet18: "ResNet18_Weights"
        case .resnet34: "ResNet34_Weights"
        case .resnet50: "ResNet50_Weights"
        case .resnet101: "ResNet101_Weights"
        case .resnet152: "ResNet152_Weights"
        case .resnext50_32x4d: "ResNeXt50_32X4D_Weights"
        case .resnext101_32x8d: "ResNeXt101_32X8D_Weights"
        case .resnext101_64x4d: "ResNeXt101_64X4D_Weights"
        case .wide_resnet50_2: "Wide_ResNet50_2_Weights"
        case .wide_resnet101_2: "Wide_ResNet101_2_Weights"
        }
    }

    /// The names `--weights` takes besides a path: `imagenet` (torchvision's DEFAULT, the best
    /// published: V2 where there is one) or a tag such as `IMAGENET1K_V1`, bare or in
    /// torchvision's spelling (`ResNet50_Weights.IMAGENET1K_V2`, `ResNet50_Weights.DEFAULT`).
    public static let names = ["imagenet", "IMAGENET1K_V1", "IMAGENET1K_V2"]

    /// The weights `name` means for `architecture`; nil when it is not a name at all (a
    /// path, then), and an error when the name exists but not for this architecture (or
    /// torchvision's spelling names another architecture's enum).
    public static func named(_ name: String, for architecture: ResNet.Architecture) throws(PretrainedWeightsError) -> PretrainedWeights? {
        var upper = name.uppercased()
        if let dot = name.firstIndex(of: "."), name[..<dot].hasSuffix("_Weights") {
            let expected = enumName(of: architecture)
            guard name[..<dot] == expected else { throw .otherArchitecture(name, expected: expected, architecture: architecture) }
            upper = name[name.index(after: dot)...].uppercased()
        }
        guard upper == "IMAGENET" || upper == "DEFAULT" || upper.hasPrefix("IMAGENET1K_") else { return nil }
        let available = catalog.filter { $0.architecture == architecture }
        let chosen = upper.hasPrefix("IMAGENET1K_") ? available.first { $0.tag == upper } : available.last
        guard let chosen else {
            throw .unknownName(name, architecture: architecture, available: available.map(\.tag))
        }
        return chosen
    }

    /// The SHA-256 prefix torchvision's file name promises.
    public var hashPrefix: String {
        String(fileName.split(separator: "-").last?.split(separator: ".").first ?? "")
    }
}

public enum PretrainedWeightsError: Error, CustomStringConvertible {
    case unknownName(String, architecture: ResNet.Architecture, available: [String])
    /// torchvision's spelling of weights for another architecture (`ResNet18_Weights.…` for resnet50).
    case otherArchitecture(String, expected: String, architecture: ResNet.Architecture)
    case downloadFailed(file: String, url: String, reason: String, cache: String)
    case hashMismatch(file: String, expectedPrefix: String, actual: String)
    /// The cache folder cannot take the file (read-only, or not a folder): nothing was downloaded.
    case cacheNotWritable(file: String, cache: String)

    public var description: String {
        switch self {
        case let .unknownName(name, architecture, available):
            "--weights \(name): torchvision has no such weights for \(architecture.rawValue) (it has \(available.joined(separator: ", ")); `imagenet` picks the best)"
        case let .otherArchitecture(name, expected, architecture):
            "--weights \(name): those are another architecture's weights; --model \(architecture.rawValue) takes \(expected).…"
        case let .downloadFailed(file, url, reason, cache):
            "could not download \(file) from \(url) (\(reason)). On a machine without network, copy \(file) into \(cache) "
                + "(where PyTorch keeps it: torch.hub's cache, $TORCH_HOME/hub/checkpoints)"
        case let .cacheNotWritable(file, cache):
            "\(file) is not in \(cache), and that folder cannot be written (read-only, or not a folder), so it was not "
                + "downloaded: set TORCH_HOME to a folder this process can write, or give the file with --weights FILE"
        case let .hashMismatch(file, expected, actual):
            "the download of \(file) is damaged: its SHA-256 is \(actual), which does not start with \(expected) as its name promises; nothing was kept"
        }
    }
}
