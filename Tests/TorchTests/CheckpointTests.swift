import Testing
import TestSupport
import Torch

/// Activation checkpointing against the same computation kept whole.
@Suite(.serialized) struct CheckpointTests {
    /// f(x) = exp(x · w) + x², a segment with a parameter.
    func segment(_ x: Tensor, _ w: Tensor) throws(TorchError) -> Tensor {
        try (x * w).exp() + x.square()
    }

    @Test func gradientsEqualTheUncheckpointedOnes() throws {
        let values = (0..<12).map { Double($0) / 7 - 0.8 }
        let w = try Tensor([1.5] as [Double], shape: [1]).requiringGradient()
        let x = try Tensor(values, shape: [3, 4]).requiringGradient()
        try segment(x, w).sum().backward()
        let (plainX, plainW) = (try #require(x.grad), try #require(w.grad))

        let x2 = try Tensor(values, shape: [3, 4]).requiringGradient()
        let w2 = try Tensor([1.5] as [Double], shape: [1]).requiringGradient()
        let y = try checkpoint(x2, parameters: [w2]) { (x) throws(TorchError) in try segment(x, w2) }
        try y.sum().backward()
        expectClose(try #require(x2.grad), plainX, within: .exactInFloat64)
        expectClose(try #require(w2.grad), plainW, within: .exactInFloat64)
    }

    /// The fix to PyTorch's reentrant checkpoint: a segment after frozen layers still
    /// trains its parameters.
    @Test func parametersGetGradientsWhenTheInputNeedsNone() throws {
        let w = try Tensor([2.0] as [Double], shape: [1]).requiringGradient()
        let x = try Tensor([1.0, 2.0, 3.0] as [Double], shape: [3])
        try checkpoint(x, parameters: [w]) { (x) throws(TorchError) in try x * w }.sum().backward()
        expectClose(try #require(w.grad), [6.0])
        #expect(x.grad == nil)
    }

    /// The recompute draws the same random numbers as the forward did (dropout-like masks).
    @Test func theRecomputeSeesTheForwardsRandomness() throws {
        let x = try Tensor.ones([64]).requiringGradient()
        var masks: [Tensor] = []
        let y = try checkpoint(x, parameters: []) { (x) throws(TorchError) in
            let mask = try Tensor.rand([64])
            masks.append(mask)
            return try x * mask
        }
        _ = try Tensor.rand([1000])  // moves the generator on between forward and backward
        try y.sum().backward()
        #expect(masks.count == 2)
        expectClose(try #require(x.grad), masks[0], within: .identical)
        expectClose(masks[1], masks[0], within: .identical)
        // And the generator carries on from where the caller left it, not from the replay.
        let after = try Tensor.rand([4]).array(of: Float.self)
        #expect(after != (try masks[0].array(of: Float.self).prefix(4)).map { $0 })
    }

    /// Only the recompute is flagged, so stateful layers can tell the two runs apart.
    @Test func onlyTheRecomputeIsFlagged() throws {
        var flags: [Bool] = []
        let x = try Tensor.ones([2]).requiringGradient()
        let y = try checkpoint(x, parameters: []) { (x) throws(TorchError) in
            flags.append(isRecomputingCheckpoint)
            return try x * 3
        }
        #expect(!isRecomputingCheckpoint)
        try y.sum().backward()
        #expect(flags == [false, true])
        #expect(!isRecomputingCheckpoint)
    }

    /// Running out of memory while recomputing is out-of-memory to the caller of backward,
    /// with the bytes, so the trainer's OOM recovery handles it like any other.
    @Test func failuresInTheRecomputeReachBackwardWithTheirKind() throws {
        let x = try Tensor.ones([2]).requiringGradient()
        let y = try checkpoint(x, parameters: []) { (x) throws(TorchError) in
            if isRecomputingCheckpoint {
                throw .outOfMemory(requestedBytes: 4096, message: "CPU memory budget exceeded: tried to allocate 4096 bytes")
            }
            return try x * 3
        }
        #expect(throws: TorchError.outOfMemory(requestedBytes: 4096, message: "CPU memory budget exceeded: tried to allocate 4096 bytes")) {
            try y.sum().backward()
        }
    }

    @Test func aFailingForwardThrowsAndReleasesItsSegment() throws {
        let before = Torch.liveTensorCount
        let x = try Tensor.ones([2]).requiringGradient()
        #expect(throws: TorchError.invalidArgument("bad segment")) {
            _ = try checkpoint(x, parameters: []) { (_) throws(TorchError) in throw .invalidArgument("bad segment") }
        }
        #expect(Torch.liveTensorCount == before + 1)  // x alone
    }

    /// The graph owns the segment's closure: it goes when the graph goes, used or not.
    @Test func theSegmentIsReleasedWithTheGraph() throws {
        final class Token {}
        weak var token: Token?
        do {
            let x = try Tensor.ones([2]).requiringGradient()
            let held = Token()
            token = held
            let y = try checkpoint(x, parameters: []) { (x) throws(TorchError) in
                withExtendedLifetime(held) {}
                return try x * 2
            }
            #expect(token != nil)
            _ = y
        }
        #expect(token == nil)
    }
}
