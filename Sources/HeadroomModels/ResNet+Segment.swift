extension ResNet {
    /// The parts of a ResNet that activation checkpointing can recompute: the stem
    /// (conv1, bn1, ReLU, max-pool) and the four stages, in forward order.
    public enum Segment: String, CaseIterable, Codable, Sendable, Comparable {
        case stem, layer1, layer2, layer3, layer4

        static let stages: [Segment] = [.layer1, .layer2, .layer3, .layer4]

        public static func < (lhs: Segment, rhs: Segment) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }
}
