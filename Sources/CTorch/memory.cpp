// Memory accounting: the budgeted CPU allocator and the statistics of both devices.
//
// The CPU allocator wraps libtorch's aligned allocation so that every tensor and every
// oneDNN scratch buffer taken through c10's CPU allocator is counted, and refuses (with
// libtorch's OutOfMemoryError) an allocation that would pass the budget. That makes CPU
// behave like a GPU with a fixed amount of memory, so the planner and OOM recovery run
// and are tested on any machine.
//
// Large freed blocks are kept for reuse by size, as PyTorch's CUDA caching allocator keeps
// device blocks: a training step frees and reallocates the same sizes every step, and
// handing them back to the kernel costs page faults (a fifth of a step at 8 × 512 px).
// The cache never holds more than the highest use seen (or the budget, if lower) minus
// what is live, checked when a block comes back and before a fresh one is taken, so live
// and cached bytes together stay within the budget and resident memory at the peak.
#include "shim.hpp"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <dlfcn.h>
#include <malloc.h>

#include <chrono>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ctorch {
// Implemented in cuda_memory.cpp, which alone sees the CUDA headers.
void cuda_memory_stats(int32_t device, ctorch_memory_stats *out);
void cuda_reset_peak(int32_t device);
void cuda_set_budget(int32_t device, int64_t bytes);
void cuda_empty_cache();
}  // namespace ctorch

namespace {

class BudgetedCPUAllocator final : public c10::Allocator {
 public:
  // The size lives in a header before the data, so freeing needs no lookup and the data
  // pointer can equal the context pointer (oneDNN relies on raw_deleter for that). A tag
  // beside it marks the block as ours: oneDNN frees its buffers through whatever CPU
  // allocator is current at free time, so a buffer taken from c10's default allocator
  // before this one was installed comes back here and must go to free_cpu untouched
  // (reading its "size" corrupted the heap).
  static constexpr size_t header_size = 64;  // keeps c10's 64-byte alignment
  static constexpr uint64_t tag_key = 0x48656164726f6f6dull;  // "Headroom"

  std::atomic<int64_t> live{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int64_t> budget{0};  // 0: no budget
  std::atomic<int64_t> allocations{0};
  std::atomic<int64_t> refusals{0};

  static BudgetedCPUAllocator &instance() {
    // Never destroyed: threads that outlive main (loader threads, Gloo's, libtorch's pool)
    // still free tensors while exit() runs static destructors, and a destroyed block cache
    // crashed them (seen in data-parallel workers stopping after Ctrl-C).
    static auto *allocator = new BudgetedCPUAllocator;
    return *allocator;
  }

  c10::DataPtr allocate(size_t bytes) override {
    if (bytes == 0) return {nullptr, nullptr, &release, c10::Device(c10::kCPU)};
    const auto size = static_cast<int64_t>(bytes);
    const int64_t in_use = live.fetch_add(size, std::memory_order_relaxed) + size;
    const int64_t limit = budget.load(std::memory_order_relaxed);
    if (limit > 0 && in_use > limit) {
      live.fetch_sub(size, std::memory_order_relaxed);
      refusals.fetch_add(1, std::memory_order_relaxed);
      TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU memory budget exceeded: tried to allocate ", bytes,
                       " bytes with ", in_use - size, " bytes in use and a budget of ", limit, " bytes");
    }
    raise_peak(in_use);
    void *base = bytes >= cache_minimum ? take_cached(bytes) : nullptr;
    if (base == nullptr) {
      // A fresh block: first shrink the cache to its allowance, so that live and cached
      // together stay within it (keep() holds the same line when blocks come back). Otherwise
      // a step whose sizes differ from the last one's (another micro-batch, a planner probe)
      // held both, and resident memory reached twice the budget.
      trim_cache();
      base = allocate_block(bytes);
    }
    write_header(base, bytes);
    allocations.fetch_add(1, std::memory_order_relaxed);
    void *data = static_cast<char *>(base) + header_size;
    return {data, data, &release, c10::Device(c10::kCPU)};
  }

  static void release(void *data) {
    if (data == nullptr) return;
    char *base = static_cast<char *>(data) - header_size;
    const auto *header = reinterpret_cast<const uint64_t *>(base);
    if (header[1] != (header[0] ^ tag_key)) {
      c10::free_cpu(data);  // not ours: c10's default allocator took it
      return;
    }
    const size_t bytes = header[0];
    reinterpret_cast<uint64_t *>(base)[1] = 0;  // a stale tag must not vouch for a foreign block later
    auto &allocator = instance();
    allocator.live.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
    if (bytes >= cache_minimum) {
      allocator.keep(base, bytes);
    } else {
      c10::free_cpu(base);
    }
  }

  /// Bytes held in the cache, not in use.
  int64_t cached_bytes() { return cached.load(std::memory_order_relaxed); }

  /// Returns every cached block to the system.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(cache_mutex);
    evict_until(0);
    // Blocks under glibc's mmap threshold went back to its heap, which is never trimmed on
    // its own (see ctorch_retain_freed_host_memory): its free pages go to the kernel too.
    malloc_trim(0);
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void copy_data(void *destination, const void *source, size_t count) const override {
    default_copy_data(destination, source, count);
  }

  void reset_peak() { peak.store(live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

 private:
  static constexpr size_t cache_minimum = 1 << 20;  // smaller blocks: glibc's heap keeps them

  std::mutex cache_mutex;
  std::unordered_map<size_t, std::vector<void *>> cache;  // by requested size
  std::atomic<int64_t> cached{0};  // changed under cache_mutex; read without it
  std::atomic<int64_t> high_water{0};  // the most ever live (never reset, unlike peak)
  std::atomic<int64_t> last_heap_check{0};  // steady-clock milliseconds of the last heap check

  static void write_header(void *base, size_t bytes) {
    auto *header = static_cast<uint64_t *>(base);
    header[0] = bytes;
    header[1] = bytes ^ tag_key;
  }

  void raise_peak(int64_t value) {
    for (auto *mark : {&peak, &high_water}) {
      int64_t seen = mark->load(std::memory_order_relaxed);
      while (value > seen && !mark->compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
      }
    }
  }

  void *take_cached(size_t bytes) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto found = cache.find(bytes);
    if (found == cache.end() || found->second.empty()) return nullptr;
    void *base = found->second.back();
    found->second.pop_back();
    cached -= static_cast<int64_t>(bytes);
    return base;
  }

  /// What the cache may hold: the highest use seen (or the budget, if lower: it may have been
  /// lowered since) less what is live.
  int64_t cache_allowance() const {
    int64_t ceiling = high_water.load(std::memory_order_relaxed);
    const int64_t limit = budget.load(std::memory_order_relaxed);
    if (limit > 0) ceiling = std::min(ceiling, limit);
    return ceiling - live.load(std::memory_order_relaxed);
  }

  void trim_cache() {
    if (cached.load(std::memory_order_relaxed) == 0) return;
    std::lock_guard<std::mutex> lock(cache_mutex);
    const int64_t before = cached;
    evict_until(cache_allowance());
    if (cached != before) release_heap_if_over_budget();
  }

  /// What the cache evicts goes back to glibc's heap, which is never trimmed on its own (see
  /// ctorch_retain_freed_host_memory) and serves the next allocations without page faults.
  /// When that free heap would take resident memory past the budget, its pages go back to
  /// the kernel: only then, as trimming on every eviction cost 12% of a step, and at most
  /// every 50 ms: near the budget, a streamed step's thousands of odd-sized band tensors
  /// evict on almost every allocation, and reading the heap's statistics walks all of it.
  void release_heap_if_over_budget() {
    const int64_t limit = budget.load(std::memory_order_relaxed);
    if (limit <= 0) return;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch()).count();
    int64_t last = last_heap_check.load(std::memory_order_relaxed);
    if (now - last < 50 || !last_heap_check.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    // Looked up, not linked: mallinfo2 is glibc 2.33's, and the GPU build runs elsewhere.
    using HeapInfo = struct mallinfo2 (*)();
    static const auto heap_info = reinterpret_cast<HeapInfo>(dlsym(RTLD_DEFAULT, "mallinfo2"));
    if (heap_info == nullptr) return;
    const int64_t free_in_heap = static_cast<int64_t>(heap_info().fordblks);
    if (live.load(std::memory_order_relaxed) + cached + free_in_heap > limit) malloc_trim(0);
  }

  void *allocate_block(size_t bytes) {
    for (int attempt = 0;; ++attempt) {
      try {
        return c10::alloc_cpu(bytes + header_size);
      } catch (const std::exception &) {
        if (attempt == 0 && cached_bytes() > 0) {
          empty_cache();  // the host is short: give back what the cache holds, then retry
          continue;
        }
        // The host itself is out of memory: report the caller's size, not ours with the header.
        live.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
        refusals.fetch_add(1, std::memory_order_relaxed);
        TORCH_CHECK_WITH(OutOfMemoryError, false, "host out of memory: tried to allocate ", bytes,
                         " bytes and the system allocator refused");
      }
    }
  }

  void keep(char *base, size_t bytes) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    cache[bytes].push_back(base);
    cached += static_cast<int64_t>(bytes);
    evict_until(cache_allowance());
  }

  /// Frees cached blocks until at most `limit` bytes are cached (the caller holds the lock).
  void evict_until(int64_t limit) {
    for (auto entry = cache.begin(); entry != cache.end() && cached > std::max<int64_t>(limit, 0);) {
      auto &blocks = entry->second;
      while (!blocks.empty() && cached > std::max<int64_t>(limit, 0)) {
        c10::free_cpu(blocks.back());
        blocks.pop_back();
        cached -= static_cast<int64_t>(entry->first);
      }
      entry = blocks.empty() ? cache.erase(entry) : std::next(entry);
    }
  }
};

// Installed as the program loads, before any tensor or oneDNN buffer exists, so that every
// block freed through this allocator was allocated by it (installing it on first use swapped
// allocators under live oneDNN buffers). Highest priority: nothing installed later replaces it.
[[maybe_unused]] const bool installed_at_load =
    (c10::SetCPUAllocator(&BudgetedCPUAllocator::instance(), /*priority=*/UINT8_MAX), true);

bool is_cuda(ctorch_device device) { return device.type == CTORCH_DEVICE_CUDA; }

}  // namespace

using namespace ctorch;

extern "C" {

int32_t ctorch_memory_read(ctorch_device device, ctorch_memory_stats *out) {
  return protect([&] {
    require_out(out);
    if (is_cuda(device)) return cuda_memory_stats(device.index < 0 ? 0 : device.index, out);
    auto &allocator = BudgetedCPUAllocator::instance();
    *out = {};
    out->live_bytes = allocator.live.load(std::memory_order_relaxed);
    out->peak_bytes = allocator.peak.load(std::memory_order_relaxed);
    out->reserved_bytes = out->live_bytes + allocator.cached_bytes();
    out->budget_bytes = allocator.budget.load(std::memory_order_relaxed);
    out->allocations = allocator.allocations.load(std::memory_order_relaxed);
    out->failed_allocations = allocator.refusals.load(std::memory_order_relaxed);
  });
}

int32_t ctorch_memory_reset_peak(ctorch_device device) {
  return protect([&] {
    if (is_cuda(device)) return cuda_reset_peak(device.index < 0 ? 0 : device.index);
    BudgetedCPUAllocator::instance().reset_peak();
  });
}

int32_t ctorch_memory_set_budget(ctorch_device device, int64_t bytes) {
  return protect([&] {
    if (bytes < 0) throw std::invalid_argument("a memory budget cannot be negative");
    if (is_cuda(device)) return cuda_set_budget(device.index < 0 ? 0 : device.index, bytes);
    BudgetedCPUAllocator::instance().budget.store(bytes, std::memory_order_relaxed);
  });
}

int32_t ctorch_memory_empty_cache(ctorch_device device) {
  return protect([&] {
    if (is_cuda(device)) return cuda_empty_cache();
    BudgetedCPUAllocator::instance().empty_cache();
  });
}

}  // extern "C"
