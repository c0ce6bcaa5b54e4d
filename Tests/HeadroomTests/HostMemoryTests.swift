import Foundation
import Testing
import TestSupport
@testable import HeadroomMemory

/// Budgets are shares of the least the process can take: the host, the container, ulimit -v.
@Suite struct HostMemoryTests {
    let scratch: TemporaryDirectory
    var root: URL { scratch.url }

    init() throws { scratch = try TemporaryDirectory("headroom-host-memory") }

    func write(_ text: String, to path: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func read() throws -> HostMemory {
        try HostMemory.read(cgroupRoot: root.appendingPathComponent("cgroup").path, meminfo: root.appendingPathComponent("meminfo").path)
    }

    @Test func aCgroupV2LimitBindsBelowTheHost() throws {
        try write("MemTotal:       24000000 kB\nMemAvailable:   22000000 kB\n", to: "meminfo")
        try write("1610612736\n", to: "cgroup/memory.max")  // 1.5 GiB, as docker run -m 1.5g
        try write("536870912\n", to: "cgroup/memory.current")
        try write("anon 268435456\ninactive_file 268435456\nactive_file 0\n", to: "cgroup/memory.stat")
        let memory = try read()
        #expect(memory.available == 22_000_000 * 1024)
        #expect(memory.containerLimit == 1_610_612_736 && memory.containerUsed == 268_435_456)  // the cache is reclaimable
        #expect(memory.capacity == 1_610_612_736 - 268_435_456)
        #expect(memory.binding == "the container's limit")
        #expect(MemoryBudget.fraction(0.8).resolve(capacity: memory.capacity) < 1_100_000_000)
    }

    @Test func noLimitMeansTheHost() throws {
        try write("MemAvailable:   1000 kB\n", to: "meminfo")
        try write("max\n", to: "cgroup/memory.max")
        #expect(try read().capacity == 1_024_000)
        // cgroup v1 says "unlimited" with a number near 2^63.
        try FileManager.default.removeItem(at: root.appendingPathComponent("cgroup/memory.max"))
        try write("9223372036854771712\n", to: "cgroup/memory/memory.limit_in_bytes")
        let memory = try read()
        #expect(memory.containerLimit == nil && memory.capacity == 1_024_000 && memory.binding == "available memory")
    }

    @Test func aCgroupV1LimitIsReadToo() throws {
        try write("MemAvailable:   22000000 kB\n", to: "meminfo")
        try write("1073741824\n", to: "cgroup/memory/memory.limit_in_bytes")
        try write("100\n", to: "cgroup/memory/memory.usage_in_bytes")
        try write("cache 0\ntotal_inactive_file 0\n", to: "cgroup/memory/memory.stat")
        #expect(try read().capacity == 1_073_741_824 - 100)
    }

    @Test func anUnreadableMeminfoIsAnError() {
        #expect(throws: HostMemoryError.self) { try read() }
    }
}
