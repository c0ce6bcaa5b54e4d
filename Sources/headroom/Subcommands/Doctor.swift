import ArgumentParser
import Headroom

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report libtorch, the CPU, CUDA and where Headroom's dependencies live."
    )

    func run() throws {
        let report = MachineReport.gather()
        // OpenSlide is optional: without it everything but whole slides works, so it is no problem.
        let openSlide = switch WholeSlide.openSlideVersion {
        case let .success(version): "\(version) (\(WholeSlide.openSlideLibrary ?? "?"))"
        case let .failure(error): "unavailable: whole slides cannot be read (run `make setup`):\(error.detail)"
        }
        let lines = report.lines + [("openslide", openSlide)]
        let width = lines.map(\.0.count).max() ?? 0
        for (name, value) in lines {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
        for problem in report.problems {
            print("problem: \(problem)")
        }
        if !report.problems.isEmpty { throw ExitCode.failure }
    }
}
