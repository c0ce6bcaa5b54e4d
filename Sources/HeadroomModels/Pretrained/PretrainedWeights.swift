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
    ]

    /// The names `--weights` takes besides a path: `imagenet` (torchvision's DEFAULT, the best
    /// published: V2 for resnet50, V1 for the others) or a tag such as `IMAGENET1K_V1`.
    public static let names = ["imagenet", "IMAGENET1K_V1", "IMAGENET1K_V2"]

    /// The weights `name` means for `architecture`; nil when it is not a name at all (a
    /// path, then), and an error when the name exists but not for this architecture.
    public static func named(_ name: String, for architecture: ResNet.Architecture) throws(PretrainedWeightsError) -> PretrainedWeights? {
        let upper = name.uppercased()
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
    case downloadFailed(file: String, url: String, reason: String, cache: String)
    case hashMismatch(file: String, expectedPrefix: String, actual: String)
    /// The cache folder cannot take the file (read-only, or not a folder): nothing was downloaded.
    case cacheNotWritable(file: String, cache: String)

    public var description: String {
        switch self {
        case let .unknownName(name, architecture, available):
            "--weights \(name): torchvision has no such weights for \(architecture.rawValue) (it has \(available.joined(separator: ", ")); `imagenet` picks the best)"
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
