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
            Train.self, Plan.self, Evaluate.self, Predict.self, Inspect.self, Export.self, Report.self, Demo.self, DemoData.self, Doctor.self,
            BenchmarkStep.self, BenchmarkLoader.self, BenchmarkAllReduce.self,
        ]
    )

    static func main() {
        // Every command trains or infers in steps that free and reallocate the same blocks.
        try? Torch.retainFreedHostMemory()
        // The arguments as the bytes they are: Swift's CommandLine.arguments replaces bytes that
        // are not UTF-8, so a data folder or an image named in Latin-1 would not be found.
        let arguments: [String]
        do {
            arguments = try ConfigFile.expand(ConfigFile.rawArguments())
        } catch {
            exit(withError: error)
        }
        if let message = ForeignOptions.message(for: arguments) { exit(withError: ValidationError(message)) }
        main(arguments)
    }
}
