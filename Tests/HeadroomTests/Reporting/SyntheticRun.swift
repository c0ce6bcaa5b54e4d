import Foundation
import TestSupport

/// Writes plausible run directories (metrics.jsonl, config.json, confusion.json) for tests,
/// and the sample report. Set HEADROOM_KEEP_OUTPUT to a folder to keep what tests write.
enum SyntheticRun {
    /// SplitMix64: deterministic, so a failing test fails the same way twice.
    struct Generator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    static func outputDirectory(_ name: String) throws -> URL {
        let base = ProcessInfo.processInfo.environment["HEADROOM_KEEP_OUTPUT"].map { URL(fileURLWithPath: $0) }
            ?? TemporaryDirectory.forThisProcess("headroom-reporting")
        let directory = base.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static let tensorBoardScalars: [TensorBoardEventReader.Scalar] = (1...20).flatMap { step -> [TensorBoardEventReader.Scalar] in
        let time: Double = 1_700_000_000 + Double(step)
        let loss = Float(2.5 / Double(step))
        let accuracy = Float(step) / 25
        let learningRate = Float(0.1 * pow(0.9, Double(step)))
        return [
            .init(tag: "loss/train", step: Int64(step), value: loss, wallTime: time),
            .init(tag: "accuracy/val_top1", step: Int64(step), value: accuracy, wallTime: time),
            .init(tag: "lr", step: Int64(step), value: learningRate, wallTime: time),
        ]
    }

    static let gibibyte = 1 << 30
    static let budget = 8 * gibibyte
    static let effectiveBatch = 256
    /// Resolution, micro-batch, bytes per sample: three progressive-resizing stages.
    static let stages: [(resolution: Int, microBatch: Int, perSample: Int)] = [
        (224, 128, 40 << 20), (320, 64, 84 << 20), (384, 48, 128 << 20),
    ]

    static func classNames(_ count: Int) -> [String] {
        let names = ["cat", "dog", "horse", "ship", "truck", "frog", "bird", "deer", "plane", "car"]
        return (0..<count).map { $0 < names.count ? names[$0] : "class_\($0)" }
    }

    /// A run of `epochs` epochs with an out-of-memory error and a replan in the last stage,
    /// unknown fields and types, and a torn last line.
    static func write(to directory: URL, epochs: Int, stepsPerEpoch: Int, classes: [String], tornLastLine: Bool = true) throws {
        var random = Generator(seed: 42)
        var lines: [String] = []
        var time = 1_760_000_000.0
        var step = 0
        var samples = 0
        var oomDone = false
        var replanDone = false
        var microOverride: Int?
        func stage(ofEpoch epoch: Int) -> Int { min(epoch * stages.count / max(epochs, 1), stages.count - 1) }
        for epoch in 0..<epochs {
            let current = stages[stage(ofEpoch: epoch)]
            if epoch > 0, stage(ofEpoch: epoch) != stage(ofEpoch: epoch - 1) {
                lines.append(#"{"type":"stage","time":\#(time),"epoch":\#(epoch),"step":\#(step),"resolution":\#(current.resolution)}"#)
                microOverride = nil
            }
            let epochStart = time
            var lossSum = 0.0
            for index in 0..<stepsPerEpoch {
                step += 1
                samples += effectiveBatch
                let progress = Double(step) / Double(epochs * stepsPerEpoch)
                var micro = microOverride ?? current.microBatch
                if !oomDone, stage(ofEpoch: epoch) == stages.count - 1, index == stepsPerEpoch / 3 {
                    oomDone = true
                    lines.append(#"{"type":"oom","time":\#(time),"epoch":\#(epoch),"step":\#(step),"resolution":\#(current.resolution),"micro_batch":\#(micro),"new_micro_batch":32,"requested_bytes":\#(900 << 20)}"#)
                    micro = 32
                    microOverride = 32
                } else if oomDone, !replanDone, microOverride == 32, index == stepsPerEpoch * 2 / 3 {
                    replanDone = true
                    micro = 40
                    microOverride = 40
                    let peak = gibibyte + 40 * current.perSample
                    lines.append(#"{"type":"replan","time":\#(time),"epoch":\#(epoch),"step":\#(step),"resolution":\#(current.resolution),"micro_batch":40,"accumulation":7,"predicted_peak_bytes":\#(peak),"verified_peak_bytes":\#(peak + (37 << 20)),"budget_bytes":\#(budget)}"#)
                }
                let accumulation = (effectiveBatch + micro - 1) / micro
                let loss = 2.3 * exp(-4 * progress) + 0.25 + 0.18 * (random.uniform() - 0.5)
                lossSum += loss
                let peak = gibibyte + micro * current.perSample + Int(Double(200 << 20) * random.uniform())
                let speed = 220_000.0 / Double(current.resolution) * (0.92 + 0.16 * random.uniform())
                time += Double(effectiveBatch) / speed
                let lr = 0.1 * 0.5 * (1 + cos(Double.pi * progress))
                // "grad_norm" stands for a field added by a newer trainer.
                lines.append(#"{"type":"step","time":\#(time),"epoch":\#(epoch),"step":\#(step),"samples":\#(samples),"loss":\#(loss),"lr":\#(lr),"micro_batch":\#(micro),"accumulation":\#(accumulation),"resolution":\#(current.resolution),"peak_bytes":\#(peak),"budget_bytes":\#(budget),"samples_per_s":\#(speed),"grad_norm":1.5}"#)
            }
            let progress = Double(epoch + 1) / Double(epochs)
            let valTop1 = 0.93 - 0.75 * exp(-3.5 * progress) - 0.02 * random.uniform()
            let top5 = classes.count >= 5 ? String(min(valTop1 + 0.08 + 0.05 * (1 - progress), 0.999)) : "null"
            lines.append(#"{"type":"epoch","time":\#(time),"epoch":\#(epoch),"step":\#(step),"samples":\#(samples),"train_loss":\#(lossSum / Double(stepsPerEpoch)),"train_top1":\#(min(valTop1 + 0.05 * progress, 1)),"val_loss":\#(2.2 * exp(-3 * progress) + 0.35 + 0.03 * random.uniform()),"val_top1":\#(valTop1),"val_top5":\#(top5),"epoch_seconds":\#(time - epochStart),"resolution":\#(current.resolution),"lr":0.05}"#)
            lines.append(#"{"type":"checkpoint","time":\#(time),"epoch":\#(epoch),"step":\#(step),"path":"checkpoints/epoch-\#(epoch).safetensors","reason":"epoch"}"#)
            if epoch == 0 {
                lines.append(#"{"type":"bad_image","time":\#(time),"epoch":0,"step":\#(step),"path":"train/cat/broken.jpg","reason":"truncated JPEG"}"#)
                lines.append(#"{"type":"gradient_histogram","time":\#(time),"bins":[1,2,3]}"#)
            }
        }
        var text = lines.joined(separator: "\n") + "\n"
        if tornLastLine { text += #"{"type":"step","time":\#(time),"epoch":0,"step":"# }
        try Data(text.utf8).write(to: directory.appendingPathComponent("metrics.jsonl"))
        try Data(configuration(epochs: epochs).utf8).write(to: directory.appendingPathComponent("config.json"))
        try Data(confusion(classes: classes, random: &random).utf8).write(to: directory.appendingPathComponent("confusion.json"))
    }

    static func configuration(epochs: Int) -> String {
        let plan = stages.map { stage in
            let predicted = gibibyte + stage.microBatch * stage.perSample
            return #"{"resolution":\#(stage.resolution),"microBatch":\#(stage.microBatch),"accumulation":{"effectiveBatch":\#(effectiveBatch),"microBatch":\#(stage.microBatch)},"predictedPeakBytes":\#(predicted),"verifiedPeakBytes":\#(predicted + (61 << 20)),"budgetBytes":\#(budget),"model":{"fixedBytes":\#(gibibyte),"bytesPerSample":\#(stage.perSample)}}"#
        }
        return """
            {"model": "resnet18", "epochs": \(epochs), "effectiveBatch": \(effectiveBatch), "seed": 42, "mixedPrecision": true,
             "data": {"train": "/data/imagenette/train", "validation": "/data/imagenette/val", "workers": 8, "resolutions": [224, 320, 384]},
             "optimizer": {"name": "sgd", "learningRate": 0.1, "momentum": 0.9, "weightDecay": 0.0001, "schedule": {"kind": "cosine", "warmupEpochs": 1}},
             "memory": {"budgetFraction": 0.8, "headroom": 0.1}, "device": "cuda:0", "resume": null,
             "plan": [\(plan.joined(separator: ","))]}
            """
    }

    static func confusion(classes: [String], random: inout Generator) -> String {
        let n = classes.count
        let rows = (0..<n).map { truth -> [Int] in
            let support = 40 + Int(random.uniform() * 30)
            var row = [Int](repeating: 0, count: n)
            for _ in 0..<support {
                // Mostly right; mistakes favour the neighbouring class, as similar classes do.
                let draw = random.uniform()
                let predicted = draw < 0.82 ? truth : draw < 0.92 ? (truth + 1) % n : Int(random.uniform() * Double(n))
                row[predicted] += 1
            }
            return row
        }
        let names = classes.map { name in "\"" + name.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        return #"{"classes":[\#(names.joined(separator: ","))],"matrix":[\#(rows.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ","))]}"#
    }
}
