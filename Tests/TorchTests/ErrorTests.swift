import Testing
import Torch

/// Failing libtorch calls throw and the process lives on.
@Suite struct ErrorTests {
    @Test func shapeMismatchThrowsWithLibtorchsMessage() throws {
        let a = try Tensor.ones([2, 3])
        let b = try Tensor.ones([4, 5])
        do {
            _ = try a.matmul(b)
            Issue.record("matmul of mismatched shapes succeeded")
        } catch {
            #expect(!error.isOutOfMemory)
            #expect(error.description.contains("2x3") && error.description.contains("4x5"))
        }
        // The process and libtorch still work afterwards.
        expectLives()
    }

    @Test func dtypeMismatchThrows() throws {
        let floats = try Tensor.ones([2, 2])
        let ints = try Tensor.ones([2, 2], dtype: .int64)
        #expect(throws: TorchError.self) { try floats.matmul(ints) }
        expectLives()
    }

    @Test func badIndicesAndDimensionsThrow() throws {
        let x = try Tensor.ones([2, 2])
        #expect(throws: TorchError.self) { try x.select(dim: 5, index: 0) }
        #expect(throws: TorchError.self) { try x.select(dim: 0, index: 9) }
        #expect(throws: TorchError.self) { try x.reshaped([3, 3]) }
        #expect(throws: TorchError.self) { try x.crossEntropy(targets: Tensor([7, 0] as [Int64])) }
        expectLives()
    }

    @Test func outOfMemoryIsItsOwnCase() throws {
        // 4 TiB: more than this machine's memory and swap, so the allocator refuses at once.
        let bytes = 1 << 42
        do {
            _ = try Tensor.empty([bytes / 4], dtype: .float32)
            Issue.record("a 4 TiB allocation succeeded")
        } catch {
            #expect(error.isOutOfMemory, "got \(error)")
            if case let .outOfMemory(requested, _) = error {
                #expect(requested == bytes)
            }
        }
        expectLives()
    }

    @Test func cudaIsAClearErrorWhereThereIsNone() throws {
        if Device.isCUDAAvailable { return }
        #expect(Device.cudaUnavailableReason != nil)
        #expect(throws: TorchError.self) { try Tensor.zeros([1], device: .cuda(0)) }
        #expect(throws: TorchError.self) { try Tensor.zeros([1]).to(device: .cuda(0)) }
        #expect(Device.best == .cpu)
    }

    private func expectLives() {
        #expect((try? Tensor.ones([2]).sum().item()) == 2)
    }
}
