import Testing
@testable import HeadroomDistributed

@Suite struct TorchrunEnvironmentTests {
    let worker = [
        "RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "node0", "MASTER_PORT": "29400",
    ]

    @Test func aSingleProcessHasNoEnvironment() throws {
        #expect(try TorchrunEnvironment.read([:]) == nil)
        #expect(try TorchrunEnvironment.read(["PATH": "/usr/bin"]) == nil)
    }

    @Test func torchrunsVariablesAreRead() throws {
        var variables = worker
        variables["TORCHELASTIC_RESTART_COUNT"] = "2"
        variables["TORCHELASTIC_USE_AGENT_STORE"] = "True"
        let environment = try #require(try TorchrunEnvironment.read(variables))
        #expect(environment == TorchrunEnvironment(
            rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddress: "node0", masterPort: 29400, restartCount: 2,
            usesAgentStore: true))
        #expect(!environment.isRestartedOnFailure, "not told how many restarts torchrun allows")
        // torchrun --max-restarts 3, on its third attempt: one more restart, which resumes by itself.
        variables["TORCHELASTIC_MAX_RESTARTS"] = "3"
        let elastic = try #require(try TorchrunEnvironment.read(variables))
        #expect(elastic.maximumRestarts == 3 && elastic.isRestartedOnFailure)
        variables["TORCHELASTIC_RESTART_COUNT"] = "3"
        #expect(try TorchrunEnvironment.read(variables)?.isRestartedOnFailure == false)
    }

    @Test func theLocalLauncherWritesWhatIsRead() throws {
        let variables = TorchrunEnvironment.localWorkerVariables(rank: 1, worldSize: 2, masterAddress: "127.0.0.1", masterPort: 29501)
        let environment = try #require(try TorchrunEnvironment.read(variables))
        #expect(environment.rank == 1 && environment.worldSize == 2 && environment.localRank == 1 && environment.masterPort == 29501)
        #expect(!environment.usesAgentStore && environment.restartCount == 0)
    }

    @Test(arguments: [
        (["RANK": "4"], "RANK=4 must be below WORLD_SIZE=4"),
        (["RANK": "-1"], "RANK=-1 must be an integer"),
        (["WORLD_SIZE": "two"], "WORLD_SIZE=two must be an integer"),
        (["MASTER_PORT": "70000"], "MASTER_PORT=70000 must be an integer in 1…65535"),
        (["MASTER_ADDR": ""], "MASTER_ADDR is not set"),
        (["LOCAL_RANK": "2"], "LOCAL_RANK=2 must be below LOCAL_WORLD_SIZE=2"),
        (["MASTER_PORT": ""], "MASTER_PORT is not set"),
    ])
    func badValuesAreNamed(change: [String: String], fragment: String) {
        let variables = worker.merging(change) { $1 }
        switch Result(catching: { () throws(DistributedSetupError) in try TorchrunEnvironment.read(variables) }) {
        case .success: Issue.record("accepted \(change)")
        case let .failure(error): #expect(error.description.contains(fragment), "\(error)")
        }
    }

    @Test func aMissingRankIsNamed() {
        var variables = worker
        variables["RANK"] = nil
        #expect(throws: DistributedSetupError.self) { try TorchrunEnvironment.read(variables) }
    }
}
