// Internal to CTorch's distributed files (process_group.cpp, batch_norm_sync.cpp,
// gradient_reducer.cpp): the process group handle and the helpers all three run
// collectives through.
#pragma once

#include "shim.hpp"

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

struct ctorch_process_group_s {
  c10::intrusive_ptr<c10d::Backend> gloo;  // every CPU tensor, and CUDA tensors without NCCL
  c10::intrusive_ptr<c10d::Backend> nccl;  // CUDA tensors, once ctorch_process_group_use_nccl
  c10::intrusive_ptr<c10d::Store> store;  // for the NCCL backend, and a sibling's
  int32_t nccl_device = -1;
  int32_t rank;
  int32_t size;
  std::chrono::milliseconds timeout;
  std::string host;  // the rendezvous host, for a sibling group
  // After a failed collective Gloo's pairs may be half torn down; destroying the group then
  // can block on threads waiting for peers that are gone, so a broken group is left to the
  // process exit instead.
  bool broken = false;
};

namespace ctorch::distributed {

/// Runs a store or collective operation: out-of-memory keeps its status, every other
/// failure (a peer that died, a timeout, a refused connection) becomes
/// CTORCH_COLLECTIVE_FAILED with `context` in front of libtorch's message.
template <typename Body>
int32_t protect_collective(const std::string &context, ctorch_process_group group, Body &&body) noexcept {
  try {
    body();
    return CTORCH_OK;
  } catch (const c10::OutOfMemoryError &e) {
    return ctorch::fail_out_of_memory(e.what_without_backtrace());
  } catch (const std::invalid_argument &e) {
    return ctorch::fail(CTORCH_INVALID_ARGUMENT, e.what());
  } catch (const c10::Error &e) {
    if (group != nullptr) group->broken = true;
    return ctorch::fail(CTORCH_COLLECTIVE_FAILED, context + ": " + e.what_without_backtrace());
  } catch (const std::exception &e) {
    // gloo's own exceptions (connection closed by peer, timed out) arrive here.
    if (group != nullptr) group->broken = true;
    return ctorch::fail(CTORCH_COLLECTIVE_FAILED, context + ": " + e.what());
  } catch (...) {
    if (group != nullptr) group->broken = true;
    return ctorch::fail(CTORCH_COLLECTIVE_FAILED, context + ": unknown C++ exception");
  }
}

inline ctorch_process_group_s &unwrap_group(ctorch_process_group group) {
  if (group == nullptr) throw std::invalid_argument("process group handle is NULL");
  if (group->broken)
    throw std::invalid_argument("the process group is unusable after an earlier collective failed");
  return *group;
}

/// The backend whose collectives take `tensor`: NCCL for a CUDA tensor when the group has
/// it, else Gloo (which also takes CUDA tensors, through the host).
inline c10d::Backend &backend_for(ctorch_process_group group, const at::Tensor &tensor) {
  auto &checked = unwrap_group(group);
  return tensor.is_cuda() && checked.nccl ? *checked.nccl : *checked.gloo;
}

/// Gloo, for the CPU-side collectives (agreements, barriers).
inline c10d::Backend &gloo_of(ctorch_process_group group) { return *unwrap_group(group).gloo; }

inline std::vector<at::Tensor> unwrap_list(const ctorch_tensor *tensors, size_t count) {
  if (tensors == nullptr && count > 0) throw std::invalid_argument("tensor list is NULL");
  std::vector<at::Tensor> list;
  list.reserve(count);
  for (size_t i = 0; i < count; ++i) list.push_back(ctorch::unwrap(tensors[i]));
  return list;
}

inline void wait(const c10::intrusive_ptr<c10d::Work> &work, std::chrono::milliseconds timeout) {
  // Gloo enforces the group's timeout inside the collective; the wait's own timeout is a
  // second guard for a collective that never starts.
  work->wait(timeout + std::chrono::seconds(5));
}

}  // namespace ctorch::distributed
