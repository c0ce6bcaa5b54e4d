import Testing
import Headroom
import Torch

@Suite struct MachineReportTests {
    @Test func reportsThePinnedLibtorch() {
        let report = MachineReport.gather()
        #expect(report.runtimeTorchVersion == "2.11.0")
        #expect(report.compiledTorchVersion == "2.11.0")
        #expect(report.libtorchPath.hasSuffix("libtorch_cpu.so"))
        #expect(report.cpuCapability != "unknown")
        #expect(report.problems.isEmpty)
        #expect(report.threadCount >= 1)
        if !Device.isCUDAAvailable {
            #expect(report.cudaUnavailableReason != nil)
            #expect(report.lines.contains { $0.0 == "cuda" && $0.1.hasPrefix("unavailable") })
        }
    }
}
