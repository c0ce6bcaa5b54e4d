import Foundation
import Testing
import TestSupport
@testable import HeadroomTraining

/// One writer per run directory: a second is refused at once, naming the first's PID.
@Suite struct RunLockTests {
    @Test func aSecondWriterIsRefusedNamingTheFirst() throws {
        let scratch = try TemporaryDirectory("headroom-lock")
        var first: RunLock? = try RunLock(directory: scratch.url)
        do {
            _ = try RunLock(directory: scratch.url)
            Issue.record("two writers held the same run directory")
        } catch {
            #expect("\(error)".contains("in use by another headroom process (PID \(getpid()))"), "\(error)")
        }
        #expect(first != nil)
        first = nil  // the lock goes with its holder
        #expect(throws: Never.self) { _ = try RunLock(directory: scratch.url) }
    }
}
