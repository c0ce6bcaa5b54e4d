/// AutoAugment's learned sub-policies (Cubuk et al., 2019), as torchvision lists them: two
/// steps each of (operation, probability, magnitude bin of 10).
extension AugmentPolicy.AutoAugmentTable {
    struct Step {
        var kind: AugmentPolicy.Kind
        var probability: Double
        var bin: Int?
        init(_ kind: AugmentPolicy.Kind, _ probability: Double, _ bin: Int?) {
            self.kind = kind
            self.probability = probability
            self.bin = bin
        }
    }

    struct SubPolicy {
        var steps: [Step]
        init(_ first: Step, _ second: Step) { steps = [first, second] }
    }

    var subPolicies: [SubPolicy] {
        switch self {
        case .imagenet: Self.imagenetPolicies
        case .cifar10: Self.cifar10Policies
        case .svhn: Self.svhnPolicies
        }
    }

    static let imagenetPolicies: [SubPolicy] = [
        SubPolicy(Step(.posterize, 0.4, 8), Step(.rotate, 0.6, 9)),
        SubPolicy(Step(.solarize, 0.6, 5), Step(.autoContrast, 0.6, nil)),
        SubPolicy(Step(.equalize, 0.8, nil), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.posterize, 0.6, 7), Step(.posterize, 0.6, 6)),
        SubPolicy(Step(.equalize, 0.4, nil), Step(.solarize, 0.2, 4)),
        SubPolicy(Step(.equalize, 0.4, nil), Step(.rotate, 0.8, 8)),
        SubPolicy(Step(.solarize, 0.6, 3), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.posterize, 0.8, 5), Step(.equalize, 1.0, nil)),
        SubPolicy(Step(.rotate, 0.2, 3), Step(.solarize, 0.6, 8)),
        SubPolicy(Step(.equalize, 0.6, nil), Step(.posterize, 0.4, 6)),
        SubPolicy(Step(.rotate, 0.8, 8), Step(.color, 0.4, 0)),
        SubPolicy(Step(.rotate, 0.4, 9), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.equalize, 0.0, nil), Step(.equalize, 0.8, nil)),
        SubPolicy(Step(.invert, 0.6, nil), Step(.equalize, 1.0, nil)),
        SubPolicy(Step(.color, 0.6, 4), Step(.contrast, 1.0, 8)),
        SubPolicy(Step(.rotate, 0.8, 8), Step(.color, 1.0, 2)),
        SubPolicy(Step(.color, 0.8, 8), Step(.solarize, 0.8, 7)),
        SubPolicy(Step(.sharpness, 0.4, 7), Step(.invert, 0.6, nil)),
        SubPolicy(Step(.shearX, 0.6, 5), Step(.equalize, 1.0, nil)),
        SubPolicy(Step(.color, 0.4, 0), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.equalize, 0.4, nil), Step(.solarize, 0.2, 4)),
        SubPolicy(Step(.solarize, 0.6, 5), Step(.autoContrast, 0.6, nil)),
        SubPolicy(Step(.invert, 0.6, nil), Step(.equalize, 1.0, nil)),
        SubPolicy(Step(.color, 0.6, 4), Step(.contrast, 1.0, 8)),
        SubPolicy(Step(.equalize, 0.8, nil), Step(.equalize, 0.6, nil)),
    ]
    static let cifar10Policies: [SubPolicy] = [
        SubPolicy(Step(.invert, 0.1, nil), Step(.contrast, 0.2, 6)),
        SubPolicy(Step(.rotate, 0.7, 2), Step(.translateX, 0.3, 9)),
        SubPolicy(Step(.sharpness, 0.8, 1), Step(.sharpness, 0.9, 3)),
        SubPolicy(Step(.shearY, 0.5, 8), Step(.translateY, 0.7, 9)),
        SubPolicy(Step(.autoContrast, 0.5, nil), Step(.equalize, 0.9, nil)),
        SubPolicy(Step(.shearY, 0.2, 7), Step(.posterize, 0.3, 7)),
        SubPolicy(Step(.color, 0.4, 3), Step(.brightness, 0.6, 7)),
        SubPolicy(Step(.sharpness, 0.3, 9), Step(.brightness, 0.7, 9)),
        SubPolicy(Step(.equalize, 0.6, nil), Step(.equalize, 0.5, nil)),
        SubPolicy(Step(.contrast, 0.6, 7), Step(.sharpness, 0.6, 5)),
        SubPolicy(Step(.color, 0.7, 7), Step(.translateX, 0.5, 8)),
        SubPolicy(Step(.equalize, 0.3, nil), Step(.autoContrast, 0.4, nil)),
        SubPolicy(Step(.translateY, 0.4, 3), Step(.sharpness, 0.2, 6)),
        SubPolicy(Step(.brightness, 0.9, 6), Step(.color, 0.2, 8)),
        SubPolicy(Step(.solarize, 0.5, 2), Step(.invert, 0.0, nil)),
        SubPolicy(Step(.equalize, 0.2, nil), Step(.autoContrast, 0.6, nil)),
        SubPolicy(Step(.equalize, 0.2, nil), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.color, 0.9, 9), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.autoContrast, 0.8, nil), Step(.solarize, 0.2, 8)),
        SubPolicy(Step(.brightness, 0.1, 3), Step(.color, 0.7, 0)),
        SubPolicy(Step(.solarize, 0.4, 5), Step(.autoContrast, 0.9, nil)),
        SubPolicy(Step(.translateY, 0.9, 9), Step(.translateY, 0.7, 9)),
        SubPolicy(Step(.autoContrast, 0.9, nil), Step(.solarize, 0.8, 3)),
        SubPolicy(Step(.equalize, 0.8, nil), Step(.invert, 0.1, nil)),
        SubPolicy(Step(.translateY, 0.7, 9), Step(.autoContrast, 0.9, nil)),
    ]
    static let svhnPolicies: [SubPolicy] = [
        SubPolicy(Step(.shearX, 0.9, 4), Step(.invert, 0.2, nil)),
        SubPolicy(Step(.shearY, 0.9, 8), Step(.invert, 0.7, nil)),
        SubPolicy(Step(.equalize, 0.6, nil), Step(.solarize, 0.6, 6)),
        SubPolicy(Step(.invert, 0.9, nil), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.equalize, 0.6, nil), Step(.rotate, 0.9, 3)),
        SubPolicy(Step(.shearX, 0.9, 4), Step(.autoContrast, 0.8, nil)),
        SubPolicy(Step(.shearY, 0.9, 8), Step(.invert, 0.4, nil)),
        SubPolicy(Step(.shearY, 0.9, 5), Step(.solarize, 0.2, 6)),
        SubPolicy(Step(.invert, 0.9, nil), Step(.autoContrast, 0.8, nil)),
        SubPolicy(Step(.equalize, 0.6, nil), Step(.rotate, 0.9, 3)),
        SubPolicy(Step(.shearX, 0.9, 4), Step(.solarize, 0.3, 3)),
        SubPolicy(Step(.shearY, 0.8, 8), Step(.invert, 0.7, nil)),
        SubPolicy(Step(.equalize, 0.9, nil), Step(.translateY, 0.6, 6)),
        SubPolicy(Step(.invert, 0.9, nil), Step(.equalize, 0.6, nil)),
        SubPolicy(Step(.contrast, 0.3, 3), Step(.rotate, 0.8, 4)),
        SubPolicy(Step(.invert, 0.8, nil), Step(.translateY, 0.0, 2)),
        SubPolicy(Step(.shearY, 0.7, 6), Step(.solarize, 0.4, 8)),
        SubPolicy(Step(.invert, 0.6, nil), Step(.rotate, 0.8, 4)),
        SubPolicy(Step(.shearY, 0.3, 7), Step(.translateX, 0.9, 3)),
        SubPolicy(Step(.shearX, 0.1, 6), Step(.invert, 0.6, nil)),
        SubPolicy(Step(.solarize, 0.7, 2), Step(.translateY, 0.6, 7)),
        SubPolicy(Step(.shearY, 0.8, 4), Step(.invert, 0.8, nil)),
        SubPolicy(Step(.shearX, 0.7, 9), Step(.translateY, 0.8, 3)),
        SubPolicy(Step(.shearY, 0.8, 5), Step(.autoContrast, 0.7, nil)),
        SubPolicy(Step(.shearX, 0.7, 2), Step(.invert, 0.1, nil)),
    ]
}
