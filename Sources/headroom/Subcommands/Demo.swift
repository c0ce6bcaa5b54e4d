import ArgumentParser
import Headroom

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole stack end to end: a small CNN learns a synthetic task."
    )

    @Option(help: "Optimiser steps to run.")
    var steps = 40

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        var check = SmokeCheck()
        check.steps = steps
        print("headroom demo: training a small CNN on synthetic stripes (\(steps) steps, batch \(check.batchSize))")
        let result = try check.run { step in
            if step.index % 10 == 0 || step.index == steps - 1 {
                print("  step \(step.index + 1)/\(steps)  loss \(formatted(step.loss))")
            }
        }
        print("loss \(formatted(result.firstLoss)) → \(formatted(result.lastLoss)), held-out accuracy \(formatted(result.accuracy * 100))%")
    }

    private func formatted(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
