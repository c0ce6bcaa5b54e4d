// The NCCL plugin: builds libtorch's ProcessGroupNCCL for the shim (process_group.cpp).
//
// A library of its own, dlopened only when a run asks for NCCL, because it links
// libtorch_cuda, which a CPU-only machine cannot load (the shim itself links libtorch_cpu
// alone and loads the CUDA library at run time). It compiles against the NCCL, cuBLAS,
// cuSPARSE and cuSOLVER headers that ProcessGroupNCCL.hpp includes; `make setup` fetches
// them (Scripts/fetch-wheel-headers.py). Without them it builds to a stub that says so.
//
// The interface is extern "C" with C++ objects behind void pointers: the shim and this
// library are built by the same compiler against the same libtorch headers.
#include "ctorch_nccl.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {
void copy_message(const std::string &message, char *error, size_t capacity) {
  if (error == nullptr || capacity == 0) return;
  std::snprintf(error, capacity, "%s", message.c_str());
}
}  // namespace

#ifdef CTORCH_WITH_NCCL_HEADERS
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <dlfcn.h>

namespace {
/// The objects made here are laid out by these headers, whose feature macros follow NCCL's
/// version: a PyTorch whose libtorch_cuda loads another NCCL minor version (a cu12 build, say)
/// would be handed objects of the wrong size. Refused, with the remedy, rather than risked.
void check_loaded_nccl_version() {
  using GetVersion = ncclResult_t (*)(int *);
  auto get_version = reinterpret_cast<GetVersion>(dlsym(RTLD_DEFAULT, "ncclGetVersion"));
  int loaded = 0;
  if (get_version == nullptr || get_version(&loaded) != ncclSuccess) return;  // nothing to compare
  if (loaded / 100 == NCCL_VERSION_CODE / 100) return;
  throw std::invalid_argument(
      "this PyTorch loads NCCL " + std::to_string(loaded / 10000) + "." + std::to_string(loaded / 100 % 100) +
      " but Headroom's NCCL plugin was built against NCCL " + std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) +
      ": rebuild Headroom with LIBTORCH pointing at this PyTorch (its nvidia/nccl headers), or use --dist-backend gloo");
}
}  // namespace

extern "C" int32_t ctorch_nccl_create_backend(const void *store, int32_t rank, int32_t size, int64_t timeout_ms,
                                              int32_t device_index, void **backend, char *error, size_t capacity) {
  try {
    if (store == nullptr || backend == nullptr) throw std::invalid_argument("store or result pointer is NULL");
    check_loaded_nccl_version();
    const auto &shared = *static_cast<const c10::intrusive_ptr<c10d::Store> *>(store);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = std::chrono::milliseconds(timeout_ms);
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(shared, rank, size, options);
    // Binding the device lets NCCL set its communicator up for it rather than guess from
    // the first tensor (and warn that it guessed).
    group->setBoundDeviceId(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index)));
    *backend = new c10::intrusive_ptr<c10d::Backend>(std::move(group));
    return 0;
  } catch (const c10::Error &e) {
    copy_message(e.what_without_backtrace(), error, capacity);
  } catch (const std::exception &e) {
    copy_message(e.what(), error, capacity);
  } catch (...) {
    copy_message("unknown C++ exception", error, capacity);
  }
  return 1;
}

#else  // built without the headers

extern "C" int32_t ctorch_nccl_create_backend(const void *, int32_t, int32_t, int64_t, int32_t, void **, char *error,
                                              size_t capacity) {
  copy_message(
      "this build of Headroom has no NCCL: its headers were missing when it was built (rerun 'make setup', which "
      "fetches them, then rebuild)",
      error, capacity);
  return 1;
}

#endif
