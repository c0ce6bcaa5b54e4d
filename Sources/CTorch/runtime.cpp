// Errors, process-wide runtime settings, generators and CUDA loading.
#include "shim.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <ATen/Parallel.h>
#include <ATen/ScalarOps.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/headeronly/version.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace ctorch {

std::atomic<int64_t> live_tensors{0};

namespace {
thread_local std::string last_error;
thread_local int64_t last_requested_bytes = -1;

// Reads "tried to allocate <number> <unit>" from libtorch's OOM messages
// (CPU: "... you tried to allocate 123 bytes", CUDA: "Tried to allocate 20.00 MiB").
int64_t requested_bytes(const std::string &message) {
  std::string lower = message;
  for (auto &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string marker = "tried to allocate ";
  auto at = lower.find(marker);
  if (at == std::string::npos) return -1;
  const char *start = lower.c_str() + at + marker.size();
  char *end = nullptr;
  double amount = std::strtod(start, &end);
  if (end == start) return -1;
  while (*end == ' ') ++end;
  double scale = 1;
  if (std::strncmp(end, "kib", 3) == 0) scale = 1024.0;
  else if (std::strncmp(end, "mib", 3) == 0) scale = 1024.0 * 1024;
  else if (std::strncmp(end, "gib", 3) == 0) scale = 1024.0 * 1024 * 1024;
  else if (std::strncmp(end, "tib", 3) == 0) scale = 1024.0 * 1024 * 1024 * 1024;
  return static_cast<int64_t>(amount * scale);
}

std::string directory_of_libtorch() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void *>(&at::show_config), &info) == 0 || info.dli_fname == nullptr)
    throw std::runtime_error("cannot locate libtorch_cpu.so in this process");
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::once_flag cuda_once;
bool cuda_loaded = false;
std::string cuda_failure;

void load_cuda_once() {
  std::call_once(cuda_once, [] {
    std::string path;
    try {
      path = directory_of_libtorch() + "/libtorch_cuda.so";
    } catch (const std::exception &e) {
      cuda_failure = e.what();
      return;
    }
    // RTLD_GLOBAL so that libtorch_cuda's static initialisers register its CUDA hooks
    // and kernels with the libtorch already in the process.
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      const char *reason = dlerror();
      cuda_failure = "cannot load " + path + ": " + (reason ? reason : "unknown reason");
      return;
    }
    cuda_loaded = true;
  });
}

}  // namespace

char *copy_string(const std::string &value) {
  char *result = static_cast<char *>(std::malloc(value.size() + 1));
  if (result == nullptr) throw std::bad_alloc();
  std::memcpy(result, value.c_str(), value.size() + 1);
  return result;
}

int32_t fail(int32_t status, const std::string &message) {
  last_error = message;
  last_requested_bytes = -1;
  return status;
}

/// Whether the process runs under an address-space limit (ulimit -v).
bool address_space_limited() {
  struct rlimit limit;
  return getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
}

bool is_out_of_memory_message(const std::string &message) {
  for (const char *phrase : {"can't allocate memory", "not enough memory", "out of memory", "Cannot allocate memory"})
    if (message.find(phrase) != std::string::npos) return true;
  // oneDNN reports a scratchpad or workspace it could not allocate only as "could not create
  // a primitive". Under ulimit -v that is what it means: out of memory, so recovery shrinks
  // the micro-batch instead of the run stopping with oneDNN's words.
  return message.find("could not create a primitive") != std::string::npos && address_space_limited();
}

int32_t fail_out_of_memory(const std::string &message) {
  last_error = message;
  last_requested_bytes = requested_bytes(message);
  return CTORCH_OUT_OF_MEMORY;
}

at::ScalarType scalar_type(int32_t dtype) {
  switch (dtype) {
    case CTORCH_FLOAT32: return at::kFloat;
    case CTORCH_FLOAT64: return at::kDouble;
    case CTORCH_FLOAT16: return at::kHalf;
    case CTORCH_BFLOAT16: return at::kBFloat16;
    case CTORCH_INT64: return at::kLong;
    case CTORCH_INT32: return at::kInt;
    case CTORCH_UINT8: return at::kByte;
    case CTORCH_BOOL: return at::kBool;
    case CTORCH_INT16: return at::kShort;
    case CTORCH_INT8: return at::kChar;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

int32_t dtype_code(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return CTORCH_FLOAT32;
    case at::kDouble: return CTORCH_FLOAT64;
    case at::kHalf: return CTORCH_FLOAT16;
    case at::kBFloat16: return CTORCH_BFLOAT16;
    case at::kLong: return CTORCH_INT64;
    case at::kInt: return CTORCH_INT32;
    case at::kByte: return CTORCH_UINT8;
    case at::kBool: return CTORCH_BOOL;
    case at::kShort: return CTORCH_INT16;
    case at::kChar: return CTORCH_INT8;
    default: throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(type));
  }
}

c10::Device device(ctorch_device device) {
  switch (device.type) {
    case CTORCH_DEVICE_CPU: return c10::Device(c10::kCPU);
    case CTORCH_DEVICE_CUDA:
      load_cuda_once();
      if (!cuda_loaded) throw std::invalid_argument("CUDA is not available: " + cuda_failure);
      return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device.index));
  }
  throw std::invalid_argument("unknown device type " + std::to_string(device.type));
}

c10::MemoryFormat memory_format(int32_t format) {
  switch (format) {
    case CTORCH_CONTIGUOUS: return c10::MemoryFormat::Contiguous;
    case CTORCH_CHANNELS_LAST: return c10::MemoryFormat::ChannelsLast;
    case CTORCH_PRESERVE_FORMAT: return c10::MemoryFormat::Preserve;
  }
  throw std::invalid_argument("unknown memory format " + std::to_string(format));
}

at::Tensor wrapped_scalar(double value, bool integral) {
  at::Tensor tensor = integral ? c10::scalar_to_tensor(at::Scalar(static_cast<int64_t>(value)))
                               : c10::scalar_to_tensor(at::Scalar(value));
  tensor.unsafeGetTensorImpl()->set_wrapped_number(true);
  return tensor;
}

}  // namespace ctorch

using namespace ctorch;

extern "C" {

const char *ctorch_last_error(void) { return last_error.c_str(); }

int64_t ctorch_last_error_requested_bytes(void) { return last_requested_bytes; }

int64_t ctorch_live_tensor_count(void) { return live_tensors.load(std::memory_order_relaxed); }

void ctorch_string_free(char *string) { std::free(string); }

const char *ctorch_compiled_version(void) {
#define CTORCH_STRINGIFY_(x) #x
#define CTORCH_STRINGIFY(x) CTORCH_STRINGIFY_(x)
  return CTORCH_STRINGIFY(TORCH_VERSION_MAJOR) "." CTORCH_STRINGIFY(TORCH_VERSION_MINOR) "." CTORCH_STRINGIFY(
      TORCH_VERSION_PATCH);
}

int32_t ctorch_runtime_config(char **out) {
  return protect([&] {
    require_out(out);
    // show_config asks the CUDA hooks, which libtorch caches on first use:
    // give libtorch_cuda its chance to register them before that.
    load_cuda_once();
    *out = copy_string(at::show_config());
  });
}

int32_t ctorch_library_path(char **out) {
  return protect([&] {
    require_out(out);
    *out = copy_string(directory_of_libtorch() + "/libtorch_cpu.so");
  });
}

int32_t ctorch_set_num_threads(int32_t count) {
  return protect([&] {
    if (count < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(count));
    at::set_num_threads(count);
  });
}

int32_t ctorch_num_threads(int32_t *out) {
  return protect([&] {
    require_out(out);
    *out = at::get_num_threads();
  });
}

int32_t ctorch_set_thread_local_num_threads(int32_t count) {
  return protect([&] {
    if (count < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(count));
    // OpenMP's thread count is a per-thread setting: only this thread's parallel regions
    // change. libgomp comes with libtorch_cpu (no omp.h in the wheel): look it up.
    using SetThreads = void (*)(int);
    static auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (set_threads != nullptr) set_threads(count);
  });
}

int32_t ctorch_retain_freed_host_memory(void) {
  return protect([&] {
    // glibc returns freed blocks above a threshold to the kernel at once, and the next step
    // page-faults them back in, zeroed: a tenth of a CPU training step. Keep them, as
    // PyTorch's CUDA caching allocator keeps device blocks: blocks up to 32 MiB (glibc's
    // largest threshold) come from the heap, which is never trimmed. The peak is unchanged.
    if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 || mallopt(M_TRIM_THRESHOLD, INT32_MAX) != 1 ||
        mallopt(M_TOP_PAD, 64 << 20) != 1)
      throw std::runtime_error("mallopt refused the host allocator settings");
  });
}

int32_t ctorch_manual_seed(uint64_t seed) {
  return protect([&] {
    // Seeding CUDA would make libtorch cache its CUDA hooks; do it only once CUDA is loaded.
    if (cuda_loaded) {
      at::manual_seed(seed);
    } else {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_current_seed(seed);
    }
  });
}

int32_t ctorch_set_grad_enabled(bool enabled, bool *previous) {
  return protect([&] {
    if (previous != nullptr) *previous = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(enabled);
  });
}

int32_t ctorch_is_grad_enabled(bool *enabled) {
  return protect([&] { *enabled = c10::GradMode::is_enabled(); });
}

int32_t ctorch_autocast_set(int32_t device_type, bool enabled, int32_t dtype, bool *was_enabled,
                            int32_t *previous_dtype) {
  return protect([&] {
    const auto type = device_type == CTORCH_DEVICE_CUDA ? at::kCUDA : at::kCPU;
    const bool before = at::autocast::is_autocast_enabled(type);
    if (was_enabled != nullptr) *was_enabled = before;
    if (previous_dtype != nullptr) *previous_dtype = dtype_code(at::autocast::get_autocast_dtype(type));
    if (enabled) at::autocast::set_autocast_dtype(type, scalar_type(dtype));
    at::autocast::set_autocast_enabled(type, enabled);
    // Nesting as torch.autocast counts it: the cast-weight cache is cleared on leaving the outermost.
    if (enabled && !before) at::autocast::increment_nesting();
    if (!enabled && before && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  });
}

int32_t ctorch_cuda_load(void) {
  load_cuda_once();
  if (cuda_loaded) return CTORCH_OK;
  return fail(CTORCH_UNAVAILABLE, cuda_failure);
}

int32_t ctorch_cuda_device_count(int32_t *out) {
  return protect([&] {
    require_out(out);
    load_cuda_once();
    *out = cuda_loaded && at::detail::getCUDAHooks().hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
  });
}

int32_t ctorch_cuda_memory_info(int32_t device_index, int64_t *free_bytes, int64_t *total_bytes) {
  return protect([&] {
    require_out(free_bytes);
    require_out(total_bytes);
    load_cuda_once();
    if (!cuda_loaded) throw std::invalid_argument("CUDA is not available: " + cuda_failure);
    // libcudart is already in the process (libtorch_cpu links it); look the calls up
    // rather than link the CUDA runtime into the shim.
    using SetDevice = int (*)(int);
    using GetDevice = int (*)(int *);
    using MemGetInfo = int (*)(size_t *, size_t *);
    auto set_device = reinterpret_cast<SetDevice>(dlsym(RTLD_DEFAULT, "cudaSetDevice"));
    auto get_device = reinterpret_cast<GetDevice>(dlsym(RTLD_DEFAULT, "cudaGetDevice"));
    auto mem_get_info = reinterpret_cast<MemGetInfo>(dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
    if (!set_device || !get_device || !mem_get_info) throw std::runtime_error("the CUDA runtime is not loaded");
    int current = 0;
    get_device(&current);
    if (set_device(device_index) != 0) throw std::invalid_argument("no CUDA device " + std::to_string(device_index));
    size_t available = 0, total = 0;
    int status = mem_get_info(&available, &total);
    set_device(current);
    if (status != 0) throw std::runtime_error("cudaMemGetInfo failed with CUDA error " + std::to_string(status));
    *free_bytes = static_cast<int64_t>(available);
    *total_bytes = static_cast<int64_t>(total);
  });
}

int32_t ctorch_generator_new(uint64_t seed, ctorch_generator *out) {
  return protect([&] {
    require_out(out);
    *out = new ctorch_generator_s{at::make_generator<at::CPUGeneratorImpl>(seed)};
  });
}

void ctorch_generator_free(ctorch_generator generator) { delete generator; }

}  // extern "C"
