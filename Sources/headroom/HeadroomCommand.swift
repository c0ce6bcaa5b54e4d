import ArgumentParser
import Headroom
import Torch

@main
struct HeadroomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headroom",
        abstract: "Train image classifiers on full-resolution images without running out of memory.",
        version: "headroom \(HeadroomRelease.version) (libtorch \(Torch.compiledVersion))",
        subcommands: [
            Train.self, Plan.self, Evaluate.self, Predict.self, Export.self, Report.self, Demo.self, DemoData.self, Doctor.self,
            BenchmarkStep.self, BenchmarkLoader.self, BenchmarkAllReduce.self,
        ]
    )

    static func main() {
        // Every command trains or infers in steps that free and reallocate the same blocks.
        try? Torch.retainFreedHostMemory()
        main(nil)
    }
}
