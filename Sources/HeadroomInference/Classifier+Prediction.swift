import Dispatch
public import HeadroomData
import HeadroomMemory
import Torch

extension Classifier {
    /// Classifies image files `batchSize` at a time with the evaluation transform at
    /// `imageSize`, handing each batch's predictions to `handle` in input order as soon as
    /// they are ready, each file read as the network's input was in training (``ModelInput``).
    /// Files are decoded in parallel on `workers` threads, each on its own:
    /// a file that cannot be read or decoded becomes a failed prediction and the rest go on.
    public func predict(
        files: [String], imageSize: Int, topK: Int = 5, batchSize: Int = 64, workers: Int = 2,
        decoder: ImageDecoder = ImageDecoder(), handle: ([Prediction]) throws -> Void
    ) throws {
        let k = max(1, min(topK, classNames.count))
        let batchSize = max(1, batchSize)
        let decoder = self.decoder(from: decoder)  // the bands and samples the network was trained on
        // The one policy of passes without gradients: a batch that does not fit is halved for
        // the rest of the files (slower, never wrong), then one image streams in bands.
        let memory = ForwardPassMemory(batchSize: batchSize, streaming: .auto)
        for start in stride(from: 0, to: files.count, by: batchSize) {
            let paths = Array(files[start..<min(files.count, start + batchSize)])
            let (images, failures) = try Self.decode(
                paths, resolution: imageSize, transform: evaluationTransform(at: imageSize), workers: workers, decoder: decoder)
            let decoded = paths.indices.filter { failures[$0] == nil }
            var ranked: [[Prediction.ClassProbability]] = []
            if !decoded.isEmpty {
                let batch = decoded.count == paths.count ? images : try images.indexSelect(dim: 0, indices: Tensor(decoded.map(Int64.init)))
                var pieces: [Tensor] = []
                try memory.run(batch, resolution: imageSize, purpose: "prediction") { (images, _, streaming) throws(TorchError) in
                    pieces.append(try self.probabilities(for: images, streaming: streaming))
                }
                let (values, indices) = try (pieces.count == 1 ? pieces[0] : Tensor.cat(pieces)).topk(k, dim: 1)
                let probabilities = try values.array(of: Float.self)
                let classIndices = try indices.array(of: Int64.self)
                ranked = decoded.indices.map { row in
                    (0..<k).map { column in
                        Prediction.ClassProbability(
                            name: classNames[Int(classIndices[row * k + column])], probability: Double(probabilities[row * k + column]))
                    }
                }
            }
            var next = ranked.makeIterator()
            try handle(paths.indices.map { slot in
                if let failure = failures[slot] { return Prediction(path: paths[slot], error: failure) }
                return Prediction(path: paths[slot], classes: next.next()!)
            })
        }
    }

    /// All predictions at once (see `predict(files:imageSize:topK:batchSize:workers:decoder:handle:)`).
    public func predict(
        files: [String], imageSize: Int, topK: Int = 5, batchSize: Int = 64, workers: Int = 2, decoder: ImageDecoder = ImageDecoder()
    ) throws -> [Prediction] {
        var predictions: [Prediction] = []
        try predict(files: files, imageSize: imageSize, topK: topK, batchSize: batchSize, workers: workers, decoder: decoder) {
            predictions += $0
        }
        return predictions
    }

    /// Decodes `paths` into one [N, bands, resolution, resolution] tensor of the decoder's batch type; the slot of a file
    /// that failed holds zeros and its reason is in `failures`. Out of memory is thrown.
    private static func decode(
        _ paths: [String], resolution: Int, transform: SampleTransform, workers: Int, decoder: ImageDecoder
    ) throws -> (images: Tensor, failures: [String?]) {
        let count = paths.count
        let images = try Tensor.zeros([count, decoder.input.bands, resolution, resolution], dtype: decoder.input.batchType)
        let failures = UnsafeMutableBufferPointer<String?>.allocate(capacity: count)
        failures.initialize(repeating: nil)
        defer { failures.deinitialize().deallocate() }
        let outOfMemory = UnsafeMutableBufferPointer<TorchError?>.allocate(capacity: count)
        outOfMemory.initialize(repeating: nil)
        defer { outOfMemory.deinitialize().deallocate() }
        let slots = DecodeSlots(failures: failures, outOfMemory: outOfMemory, images: images)
        let workers = max(1, min(workers, count))
        let perWorker = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for slot in (worker * perWorker)..<min(count, (worker + 1) * perWorker) {
                var random = DeterministicRandom(seed: 0, epoch: 0, index: slot)  // the evaluation transform draws nothing
                do {
                    let pixels = try transform.apply(
                        toFileAt: paths[slot], resolution: resolution, decoder: decoder, random: &random)
                    try slots.images.select(dim: 0, index: slot).copyInPlace(from: pixels)
                } catch let error as TorchError where error.isOutOfMemory {
                    slots.outOfMemory[slot] = error
                } catch {
                    // The decoder's messages start with the path, which the prediction already holds.
                    let message = "\(error)"
                    let prefix = paths[slot] + ": "
                    slots.failures[slot] = message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
                }
            }
        }
        if let error = outOfMemory.compactMap({ $0 }).first { throw error }
        return (images, Array(failures))
    }
}

/// The output slots of one decoded batch, shared with the worker threads.
private struct DecodeSlots: @unchecked Sendable {
    // @unchecked: each worker writes only its own slots.
    let failures: UnsafeMutableBufferPointer<String?>
    let outOfMemory: UnsafeMutableBufferPointer<TorchError?>
    let images: Tensor
}
