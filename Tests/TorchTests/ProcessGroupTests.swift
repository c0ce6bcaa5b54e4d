import Foundation
import TestSupport
import Testing
import Torch

/// c10d over Gloo, two ranks as two threads of this process, on 127.0.0.1.
@Suite(.serialized) struct ProcessGroupTests {
    /// Ranks 0 and 1 as two threads (TestSupport's `withLocalRanks`).
    private func withTwoRanks<T: Sendable>(_ body: @escaping @Sendable (ProcessGroup) throws -> T) throws -> [T] {
        try withLocalRanks(2, body)
    }

    @Test func allReduceSumsAndAveragesEveryTensorOfEveryDtype() throws {
        let values = try withTwoRanks { group -> [[Double]] in
            let r = Double(group.rank)
            let a = try Tensor([1 + r, 2 + r, 3 + r].map(Float.init), shape: [3])
            let b = try Tensor([10 * (r + 1), 20 * (r + 1), 30 * (r + 1), 40 * (r + 1)].map(Float.init), shape: [2, 2])
            let c = try Tensor([Int64(group.rank + 5)], shape: [1])
            try group.allReduce([a, b, c])
            let d = try Tensor([Float(2 * group.rank + 1)], shape: [1])
            try group.allReduce([d], .average)
            // Through a persistent bucket larger than needed: the same sums.
            let e = try Tensor([Float(r), 1], shape: [2])
            let f = try Tensor([Float(3 * r)], shape: [1, 1])
            let bucket = try Tensor.zeros([5])
            try group.allReduce([e, f], bucket: bucket)
            // Checked back on the test's own task: these threads are not Swift Testing's.
            return [
                try a.array(of: Float.self).map(Double.init), try b.array(of: Float.self).map(Double.init),
                try c.array(of: Int64.self).map(Double.init), try d.array(of: Float.self).map(Double.init),
                try e.array(of: Float.self).map(Double.init), try f.array(of: Float.self).map(Double.init),
            ]
        }
        for rankValues in values {
            #expect(rankValues == [[3, 5, 7], [30, 60, 90, 120], [11], [2], [1, 2], [3]])
        }
    }

    @Test func broadcastCopiesRankZerosTensorsAndGatherCollectsValues() throws {
        let values = try withTwoRanks { group -> ([Float], [Int64], [[Int64]]) in
            let weights = try Tensor([Float(group.rank * 100 + 1), Float(group.rank * 100 + 2)], shape: [2])
            let counts = try Tensor([Int64(group.rank + 7)], shape: [1])
            try group.broadcast([weights, counts], from: 0)
            let gathered = try group.allGather([Int64(group.rank), Int64(10 * group.rank + 3)])
            try group.barrier()
            return (try weights.array(), try counts.array(), gathered)
        }
        for (weights, counts, gathered) in values {
            #expect(weights == [1, 2])
            #expect(counts == [7])
            #expect(gathered == [[0, 3], [1, 13]])
        }
    }

    @Test func aTakenPortIsAClearError() throws {
        let taken = PortHolder()
        let result = Result {
            try ProcessGroup(host: "127.0.0.1", port: taken.port, rank: 0, worldSize: 2, timeoutSeconds: 2, hostsStore: true)
        }
        guard case let .failure(error) = result else {
            Issue.record("a store was served on a taken port")
            return
        }
        let message = "\(error)"
        #expect(message.contains("127.0.0.1:\(taken.port)"), "\(message)")
        #expect(message.lowercased().contains("in use"), "\(message)")
    }

    /// It fails (a hang would stop the suite): how soon is the timeout's business, not a test's.
    @Test func nobodyAtTheRendezvousFailsInsteadOfWaiting() throws {
        let port = freeTCPPort()
        let result = Result {
            try ProcessGroup(host: "127.0.0.1", port: port, rank: 1, worldSize: 2, timeoutSeconds: 2, hostsStore: false)
        }
        guard case let .failure(error) = result, case .collectiveFailed = error as? TorchError else {
            Issue.record("joined a rendezvous nobody serves: \(result)")
            return
        }
    }

    /// On a GPU, NCCL at world size 1 sums a CUDA tensor. Elsewhere asking for it fails, saying
    /// why — libtorch's CUDA library or the plugin does not load (a CPU-only machine), or
    /// ProcessGroupNCCL itself finds no GPU (CUDA's libraries installed, no device) — and
    /// the failed group gives its rendezvous back: the same port serves again.
    @Test func ncclSumsOnAGPUAndElsewhereRefusesClearlyAndFreesTheRendezvous() throws {
        let port = freeTCPPort()
        let result = Result {
            try ProcessGroup(host: "127.0.0.1", port: port, rank: 0, worldSize: 1, timeoutSeconds: 20, hostsStore: true, ncclDevice: 0)
        }
        switch result {
        case let .success(group):
            #expect(group.ncclDevice == 0)
            let values = try Tensor([1.5, -2] as [Float], shape: [2]).to(device: .cuda(0))
            try group.allReduce([values])
            #expect(try values.to(device: .cpu).array(of: Float.self) == [1.5, -2])
        case let .failure(error):
            #expect(Device.cudaDeviceCount == 0, "NCCL refused on a GPU machine: \(error)")
            let message = "\(error)"
            if let reason = ProcessGroup.ncclUnavailableReason {
                #expect(message.contains(reason), "\(message)")
                if let cuda = Device.cudaUnavailableReason, cuda.contains("cannot load") {
                    #expect(reason.contains("NCCL needs libtorch's CUDA library") && reason.contains(cuda), "\(reason)")
                }
            } else {
                #expect(message.contains("NCCL") && message.contains("GPU"), "\(message)")
            }
            let again = try ProcessGroup(host: "127.0.0.1", port: port, rank: 0, worldSize: 1, timeoutSeconds: 5, hostsStore: true)
            #expect(again.ncclDevice == nil)
            #expect(try again.allGather([7]) == [[7]])
        }
    }

    /// `make setup` fetches the headers the NCCL plugin compiles against: where they are, the
    /// plugin beside this binary is the real one (it references ProcessGroupNCCL's
    /// constructor), not the stub that only says they were missing.
    @Test func theNCCLPluginIsBuiltAgainstNCCLWhereItsHeadersAre() throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let torch = ProcessInfo.processInfo.environment["LIBTORCH"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? package.appendingPathComponent(".deps/python/torch")
        let header = torch.deletingLastPathComponent().appendingPathComponent("nvidia/nccl/include/nccl.h")
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let plugin = binary.appendingPathComponent("libHeadroomNCCL.so")
        let bytes = try Data(contentsOf: plugin)
        let constructor = Data("_ZN4c10d16ProcessGroupNCCLC1E".utf8)
        let stub = Data("its headers were missing when it was built".utf8)
        if FileManager.default.fileExists(atPath: header.path) {
            #expect(bytes.range(of: constructor) != nil && bytes.range(of: stub) == nil, "\(plugin.path) is the stub")
        } else {
            #expect(bytes.range(of: stub) != nil, "\(plugin.path) has no message for its missing headers")
        }
    }
}
