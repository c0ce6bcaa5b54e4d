import ArgumentParser
import Headroom

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report libtorch, the CPU, CUDA and where Headroom's dependencies live."
    )

    func run() throws {
        let report = MachineReport.gather()
        let width = report.lines.map(\.0.count).max() ?? 0
        for (name, value) in report.lines {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
        for problem in report.problems {
            print("problem: \(problem)")
        }
        if !report.problems.isEmpty { throw ExitCode.failure }
    }
}
