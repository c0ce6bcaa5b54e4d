// CUDA memory statistics and limits, through the caching allocator of libtorch_cuda.
//
// libtorch_cuda is loaded at run time (runtime.cpp), so the shim cannot link against
// libc10_cuda: the allocator is looked up by its symbol once CUDA is loaded, and driven
// through the class the header declares (the same libtorch version on both sides).
#include "shim.hpp"

#ifdef CTORCH_WITH_CUDA_HEADERS
#include <c10/cuda/CUDACachingAllocator.h>

#include <dlfcn.h>

namespace ctorch {
namespace {

using c10::cuda::CUDACachingAllocator::CUDAAllocator;

CUDAAllocator &cuda_allocator() {
  int32_t count = 0;
  if (ctorch_cuda_device_count(&count) != CTORCH_OK || count == 0)
    throw std::invalid_argument("CUDA is not available on this machine");
  static auto *slot = static_cast<std::atomic<CUDAAllocator *> *>(
      dlsym(RTLD_DEFAULT, "_ZN3c104cuda20CUDACachingAllocator9allocatorE"));
  if (slot == nullptr || slot->load() == nullptr)
    throw std::runtime_error("libtorch_cuda is loaded but its caching allocator was not found");
  return *slot->load();
}

int64_t current(const c10::CachingDeviceAllocator::StatArray &stats) {
  return stats[static_cast<size_t>(c10::CachingDeviceAllocator::StatType::AGGREGATE)].current;
}

int64_t peak(const c10::CachingDeviceAllocator::StatArray &stats) {
  return stats[static_cast<size_t>(c10::CachingDeviceAllocator::StatType::AGGREGATE)].peak;
}

// The fraction the allocator enforces, remembered to report the budget in bytes.
std::atomic<int64_t> cuda_budget{0};

}  // namespace

void cuda_memory_stats(int32_t device, ctorch_memory_stats *out) {
  auto stats = cuda_allocator().getDeviceStats(static_cast<c10::DeviceIndex>(device));
  *out = {};
  out->live_bytes = current(stats.allocated_bytes);
  out->peak_bytes = peak(stats.allocated_bytes);
  out->reserved_bytes = current(stats.reserved_bytes);
  out->budget_bytes = cuda_budget.load();
  out->allocations = current(stats.allocation);
  out->failed_allocations = stats.num_ooms;
  out->allocation_retries = stats.num_alloc_retries;
}

void cuda_reset_peak(int32_t device) { cuda_allocator().resetPeakStats(static_cast<c10::DeviceIndex>(device)); }

void cuda_set_budget(int32_t device, int64_t bytes) {
  int64_t available = 0, total = 0;
  if (ctorch_cuda_memory_info(device, &available, &total) != CTORCH_OK) throw std::runtime_error(ctorch_last_error());
  double fraction = bytes == 0 ? 1.0 : static_cast<double>(bytes) / static_cast<double>(total);
  if (fraction > 1.0) fraction = 1.0;
  cuda_allocator().setMemoryFraction(fraction, static_cast<c10::DeviceIndex>(device));
  cuda_budget.store(bytes);
}

void cuda_empty_cache() { cuda_allocator().emptyCache(); }

}  // namespace ctorch

#else  // built without the CUDA runtime headers

namespace ctorch {
[[noreturn]] static void no_cuda_headers() {
  throw std::invalid_argument(
      "this build of Headroom has no CUDA memory support: rebuild after 'make setup' (which installs the CUDA headers)");
}
void cuda_memory_stats(int32_t, ctorch_memory_stats *) { no_cuda_headers(); }
void cuda_reset_peak(int32_t) { no_cuda_headers(); }
void cuda_set_budget(int32_t, int64_t) { no_cuda_headers(); }
void cuda_empty_cache() { no_cuda_headers(); }
}  // namespace ctorch

#endif
