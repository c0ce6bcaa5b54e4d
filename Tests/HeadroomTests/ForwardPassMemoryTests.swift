import Testing
import Torch
@testable import HeadroomExecution
@testable import HeadroomMemory
@testable import HeadroomModels

/// Passes without gradients (validation, evaluate, predict) on the one ladder: the batch
/// halves, then one image climbs streaming's rungs as far as `--streaming` allows.
@Suite struct ForwardPassMemoryTests {
    static let outOfMemory = TorchError.outOfMemory(requestedBytes: 1 << 30, message: "scripted")

    @Test func halvesTheBatchThenClimbsTrainingsRungsThenLayer4() {
        let memory = ForwardPassMemory(batchSize: 8, streaming: .auto)
        var responses: [MemoryController.Response] = []
        while responses.last != MemoryController.Response.none {
            responses.append(memory.recordOutOfMemory(resolution: 512))
        }
        let training = StreamingChoice.auto.ladder(inputRows: 512)
        #expect(responses.prefix(3) == [.smallerMicroBatch(4), .smallerMicroBatch(2), .smallerMicroBatch(1)])
        let rungs = responses.compactMap { if case let .stream(rung) = $0 { rung } else { nil } }
        #expect(Array(rungs.prefix(training.count)) == training, "training's rungs first, in training's order")
        #expect(rungs.count == training.count + 1 && rungs.last?.through == .layer4)
        #expect(memory.streaming == rungs.last && memory.batchSize == 1)
    }

    @Test func streamingOffHalvesAndStops() {
        let memory = ForwardPassMemory(batchSize: 3, streaming: .off)
        #expect(memory.recordOutOfMemory(resolution: 512) == .smallerMicroBatch(1))
        #expect(memory.recordOutOfMemory(resolution: 512) == MemoryController.Response.none)
        #expect(memory.streaming == nil)
    }

    @Test func aSegmentStreamsThroughThatSegmentOnly() {
        let memory = ForwardPassMemory(batchSize: 1, streaming: .through(.layer2))
        var throughs: [ResNet.Segment] = []
        while case let .stream(rung) = memory.recordOutOfMemory(resolution: 1024) { throughs.append(rung.through) }
        #expect(!throughs.isEmpty && throughs.allSatisfy { $0 == .layer2 })
    }

    /// `run` covers every image once, in order, retrying a piece that ran out of memory in
    /// smaller pieces; a pass no rung rescues ends in `ForwardPassOutOfMemory`.
    @Test func runCoversEveryImageOnceInOrder() throws {
        let images = try Tensor((0..<11).map(Float.init), shape: [11, 1])
        let memory = ForwardPassMemory(batchSize: 8, streaming: .off)
        var seen: [Float] = []
        var ranges: [Range<Int>] = []
        try memory.run(images, resolution: 64, purpose: "test") { (piece, rows, _) throws(TorchError) in
            if rows.count > 3 { throw Self.outOfMemory }  // only three images fit
            seen += try piece.array(of: Float.self)
            ranges.append(rows)
        }
        #expect(seen == (0..<11).map(Float.init))
        #expect(memory.batchSize == 2 && ranges.first == 0..<2 && ranges.last == 10..<11)

        let hopeless = ForwardPassMemory(batchSize: 2, streaming: .auto)
        let error = #expect(throws: ForwardPassOutOfMemory.self) {
            try hopeless.run(images, resolution: 64, purpose: "prediction") { (_, _, _) throws(TorchError) in throw Self.outOfMemory }
        }
        #expect(error?.deepest == StreamingChoice.auto.forwardLadder(inputRows: 64).last)
        #expect(error?.description.contains("for prediction") == true)
    }

    /// Validation's policy comes from the run's memory owner: `--streaming` as training was
    /// given it (so `off` never streams), kept from one epoch to the next.
    @Test func validationIsTheControllersAndKeepsItsStreamingChoice() {
        var settings = MemoryController.Settings()
        settings.streaming = .off
        settings.validationStreaming = .off
        let controller = MemoryController(device: .cpu, limit: MemoryLimit(budgetBytes: 1 << 30), effectiveBatch: 100, settings: settings)
        let validation = controller.validationMemory(at: 64)
        #expect(validation.streamingChoice == .off && validation.batchSize == 128)
        #expect(controller.validationMemory(at: 64) === validation)
        while case .smallerMicroBatch = validation.recordOutOfMemory(resolution: 64) {}
        #expect(validation.streaming == nil, "--streaming off: no bands in validation")
    }
}
