import ArgumentParser
import Foundation
import Headroom

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate RUN_DIR/report.html from the run's metrics, configuration and confusion matrix.",
        discussion: "The page is self-contained (inline SVG, no scripts, no network); training refreshes it every epoch."
    )

    @Argument(help: "The run directory.")
    var runDirectory: String

    func validate() throws {
        guard RunDirectory(URL(fileURLWithPath: runDirectory)).holdsARun else {
            throw ValidationError("\(runDirectory) is not a run directory (no metrics.jsonl or checkpoints/); give the --out of a training run")
        }
    }

    func run() throws {
        try reportingFailures(of: "report") {
            print(try HTMLReport.write(runDirectory: URL(fileURLWithPath: runDirectory)).path)
        }
    }
}
