/// `total` things in `parts` consecutive shares whose sizes differ by at most one, the larger
/// ones first: how an optimiser step's samples are cut into micro-batches, and into ranks' shares.
public func evenSplit(_ total: Int, into parts: Int) -> [Int] {
    precondition(parts >= 1, "\(total) into \(parts) parts")
    let base = total / parts
    let larger = total % parts
    return (0..<parts).map { $0 < larger ? base + 1 : base }
}
