import Testing
import Torch

/// Every handle the shim hands out is released.
@Suite(.serialized) struct LifetimeTests {
    @Test func tenThousandTensorsLeaveNothingBehind() throws {
        let baseline = Torch.liveTensorCount
        for i in 0..<10_000 {
            let x = try Tensor.full([4], value: Double(i))
            let y = try (x * 2 + 1).relu().sum()
            _ = try y.item()
        }
        #expect(Torch.liveTensorCount == baseline)
    }

    @Test func failedOpsLeaveNothingBehind() throws {
        let baseline = Torch.liveTensorCount
        for _ in 0..<100 {
            let a = try Tensor.ones([2, 3])
            _ = try? a.matmul(a)
        }
        #expect(Torch.liveTensorCount == baseline)
    }

    @Test func autogradGraphsAreReleased() throws {
        let baseline = Torch.liveTensorCount
        for _ in 0..<100 {
            let w = try Tensor.randn([3, 3], generator: Generator(seed: 0)).requiringGradient()
            try (w.matmul(w).sum()).backward()
            _ = try #require(w.grad)
        }
        #expect(Torch.liveTensorCount == baseline)
    }
}

@Suite struct RuntimeTests {
    @Test func versionIsThePinnedOne() throws {
        #expect(Torch.compiledVersion == Torch.pinnedVersion)
        #expect(try Torch.runtimeVersion() == Torch.pinnedVersion)
        #expect(try Torch.libraryPath().hasSuffix("libtorch_cpu.so"))
    }

    @Test func threadCountCanBeSet() throws {
        let original = Torch.threadCount
        #expect(original >= 1)
        try Torch.setThreadCount(1)
        #expect(Torch.threadCount == 1)
        try Torch.setThreadCount(original)
        #expect(throws: TorchError.self) { try Torch.setThreadCount(0) }
    }

    @Test func manualSeedRepeatsTheDefaultGenerator() throws {
        try Torch.manualSeed(11)
        let a = try Tensor.randn([4]).array(of: Float.self)
        try Torch.manualSeed(11)
        let b = try Tensor.randn([4]).array(of: Float.self)
        #expect(a == b)
    }
}
