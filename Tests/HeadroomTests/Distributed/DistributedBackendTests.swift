import Headroom
import Testing
import Torch

/// `--dist-backend`: which library a worker's CUDA tensors' collectives go to.
struct DistributedBackendTests {
    let missing = "cannot load libtorch_cuda.so"

    @Test func aCPUWorkerUsesGlooAndRefusesNCCL() throws {
        for backend in [DistributedBackend.auto, .gloo] {
            let choice = try backend.choose(for: .cpu, ncclUnavailable: nil)
            #expect(choice.ncclDevice == nil && choice.note == nil)
        }
        #expect {
            try DistributedBackend.nccl.choose(for: .cpu, ncclUnavailable: nil)
        } throws: { error in
            "\(error)".contains("this worker trains on cpu") && "\(error)".contains("--dist-backend gloo")
        }
    }

    @Test func aGPUWorkerUsesNCCLOnItsOwnDeviceWhereNCCLLoads() throws {
        #expect(try DistributedBackend.auto.choose(for: .cuda(3), ncclUnavailable: nil).ncclDevice == 3)
        #expect(try DistributedBackend.nccl.choose(for: .cuda(1), ncclUnavailable: nil).ncclDevice == 1)
        #expect(try DistributedBackend.gloo.choose(for: .cuda(1), ncclUnavailable: nil).ncclDevice == nil)
    }

    /// `auto` falls back to Gloo and says why; `nccl` asked for by name is an error.
    @Test func whereNCCLCannotLoadAutoSaysWhyAndNCCLFails() throws {
        let fallback = try DistributedBackend.auto.choose(for: .cuda(0), ncclUnavailable: missing)
        #expect(fallback.ncclDevice == nil)
        #expect(fallback.note?.contains(missing) == true)
        #expect {
            try DistributedBackend.nccl.choose(for: .cuda(0), ncclUnavailable: missing)
        } throws: { error in
            "\(error)".contains(missing) && "\(error)".contains("--dist-backend gloo")
        }
    }
}
