// c10d process groups: TCPStore rendezvous, Gloo collectives and, for CUDA tensors when a
// run asks for it, NCCL's (through the NCCL plugin, Sources/CTorchNCCL, loaded at run time).
//
// The only translation unit that includes gloo or c10d headers. The torch wheel ships
// ProcessGroupGloo.hpp but not the gloo headers it includes; Debian's libgloo-dev provides
// headers that compile. Nothing from Debian's gloo is linked: libtorch_cpu holds its own
// gloo and every c10d symbol used here, and no gloo type is touched by value here (the
// transport device is only passed along as the shared_ptr c10d hands out), so a layout
// difference between the two gloo versions cannot matter.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif

#include "shim.hpp"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "../CTorchNCCL/include/ctorch_nccl.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

struct ctorch_store_s {
  c10::intrusive_ptr<c10d::Store> value;
  std::string address;  // host:port, for messages
};

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

namespace {

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

ctorch_process_group_s &unwrap_group(ctorch_process_group group) {
  if (group == nullptr) throw std::invalid_argument("process group handle is NULL");
  if (group->broken)
    throw std::invalid_argument("the process group is unusable after an earlier collective failed");
  return *group;
}

/// The backend whose collectives take `tensor`: NCCL for a CUDA tensor when the group has
/// it, else Gloo (which also takes CUDA tensors, through the host).
c10d::Backend &backend_for(ctorch_process_group group, const at::Tensor &tensor) {
  auto &checked = unwrap_group(group);
  return tensor.is_cuda() && checked.nccl ? *checked.nccl : *checked.gloo;
}

/// Gloo, for the CPU-side collectives (agreements, barriers).
c10d::Backend &gloo_of(ctorch_process_group group) { return *unwrap_group(group).gloo; }

std::vector<at::Tensor> unwrap_list(const ctorch_tensor *tensors, size_t count) {
  if (tensors == nullptr && count > 0) throw std::invalid_argument("tensor list is NULL");
  std::vector<at::Tensor> list;
  list.reserve(count);
  for (size_t i = 0; i < count; ++i) list.push_back(ctorch::unwrap(tensors[i]));
  return list;
}

void wait(const c10::intrusive_ptr<c10d::Work> &work, std::chrono::milliseconds timeout) {
  // Gloo enforces the group's timeout inside the collective; the wait's own timeout is a
  // second guard for a collective that never starts.
  work->wait(timeout + std::chrono::seconds(5));
}

/// Tensors grouped by (dtype, device), in first-seen order, each group one flat bucket.
std::vector<std::vector<size_t>> buckets(const std::vector<at::Tensor> &tensors) {
  std::vector<std::vector<size_t>> groups;
  std::vector<std::pair<at::ScalarType, c10::Device>> keys;
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto key = std::make_pair(tensors[i].scalar_type(), tensors[i].device());
    size_t at = 0;
    while (at < keys.size() && keys[at] != key) ++at;
    if (at == keys.size()) {
      keys.push_back(key);
      groups.emplace_back();
    }
    groups[at].push_back(i);
  }
  return groups;
}

at::Tensor flatten(const std::vector<at::Tensor> &tensors, const std::vector<size_t> &members) {
  std::vector<at::Tensor> flat;
  flat.reserve(members.size());
  for (auto i : members) flat.push_back(tensors[i].detach().reshape({-1}));
  return at::cat(flat);
}

void unflatten(const at::Tensor &bucket, const std::vector<at::Tensor> &tensors, const std::vector<size_t> &members) {
  at::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto i : members) {
    auto n = tensors[i].numel();
    tensors[i].detach().copy_(bucket.narrow(0, offset, n).view(tensors[i].sizes()));
    offset += n;
  }
}

/// PyTorch's flight recorder, a process-wide log of every collective for its Python
/// debugging tools, crashed inside its map insertion (recordWithResetEnabled, called from
/// ProcessGroupGloo::enqueue) when two groups of one process recorded at once — ranks as
/// threads in the tests, a few percent of runs. Headroom's collectives cannot hang and nothing
/// here reads the log, so it is off unless TORCH_FR_BUFFER_SIZE asks for it. Set before the
/// recorder's first use, once, before any thread reads the environment for a group.
void disable_flight_recorder() {
  static std::once_flag once;
  std::call_once(once, [] { setenv("TORCH_FR_BUFFER_SIZE", "0", /*overwrite=*/0); });
}

bool is_loopback(const std::string &host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

ctorch_process_group make_gloo_group(const c10::intrusive_ptr<c10d::Store> &store, int32_t rank, int32_t size,
                                     std::chrono::milliseconds timeout, const std::string &host) {
  disable_flight_recorder();
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is not in a world of " + std::to_string(size));
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // GLOO_SOCKET_IFNAME picks the interface, as in PyTorch; a loopback rendezvous binds
  // to loopback (a single machine); otherwise the address this host's name resolves to.
  const char *interface = std::getenv("GLOO_SOCKET_IFNAME");
  if (interface != nullptr && *interface != 0) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  } else if (is_loopback(host)) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = 2;
  auto group = new ctorch_process_group_s{};
  group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
  group->store = store;
  group->rank = rank;
  group->size = size;
  group->timeout = timeout;
  group->host = host;
  return group;
}

/// The NCCL plugin's constructor, from libHeadroomNCCL.so beside the binary that holds this
/// shim (or HEADROOM_NCCL_PLUGIN), loaded once, after libtorch_cuda.
using CreateNCCLBackend = decltype(&ctorch_nccl_create_backend);

CreateNCCLBackend nccl_plugin() {
  static std::once_flag once;
  static CreateNCCLBackend create = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    if (ctorch_cuda_load() != CTORCH_OK) {
      failure = std::string("NCCL needs libtorch's CUDA library: ") + ctorch_last_error();
      return;
    }
    std::string path;
    const char *given = std::getenv("HEADROOM_NCCL_PLUGIN");
    if (given != nullptr && *given != 0) {
      path = given;
    } else {
      Dl_info info{};
      if (dladdr(reinterpret_cast<void *>(&nccl_plugin), &info) == 0 || info.dli_fname == nullptr) {
        failure = "cannot locate the binary that holds the shim, to find libHeadroomNCCL.so beside it";
        return;
      }
      path = info.dli_fname;
      path = path.substr(0, path.rfind('/') + 1) + "libHeadroomNCCL.so";
    }
    void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char *reason = dlerror();
      failure = "cannot load the NCCL plugin " + path + ": " + (reason ? reason : "unknown reason") +
                " (it is built beside the headroom binary; HEADROOM_NCCL_PLUGIN names another)";
      return;
    }
    create = reinterpret_cast<CreateNCCLBackend>(dlsym(library, "ctorch_nccl_create_backend"));
    if (create == nullptr) failure = path + " has no ctorch_nccl_create_backend: it is not Headroom's NCCL plugin";
  });
  if (create == nullptr) throw std::invalid_argument(failure);
  return create;
}

/// Gives `group` an NCCL backend for its CUDA tensors, bound to cuda:`device`, over its own
/// keys in the group's store (NCCL's counters must not meet Gloo's).
void attach_nccl(ctorch_process_group_s &group, int32_t device) {
  if (device < 0) throw std::invalid_argument("NCCL needs a CUDA device index, not " + std::to_string(device));
  auto create = nccl_plugin();
  c10::intrusive_ptr<c10d::Store> keys = c10::make_intrusive<c10d::PrefixStore>("headroom/nccl", group.store);
  void *made = nullptr;
  char error[2048] = {0};
  if (create(&keys, group.rank, group.size, group.timeout.count(), device, &made, error, sizeof error) != 0 || made == nullptr)
    throw std::runtime_error(std::string("creating the NCCL process group: ") + error);
  auto *backend = static_cast<c10::intrusive_ptr<c10d::Backend> *>(made);
  group.nccl = std::move(*backend);
  delete backend;
  group.nccl_device = device;
}

}  // namespace

extern "C" {

int32_t ctorch_store_create(const char *host, uint16_t port, bool is_server, int32_t world_size, int64_t timeout_ms,
                            const char *prefix, ctorch_store *out) {
  std::string address = std::string(host ? host : "(null)") + ":" + std::to_string(port);
  return protect_collective("rendezvous at " + address, nullptr, [&] {
    ctorch::require_out(out);
    if (host == nullptr || *host == 0) throw std::invalid_argument("the rendezvous host is empty");
    disable_flight_recorder();
    if (world_size < 1) throw std::invalid_argument("world size must be at least 1");
    if (timeout_ms < 1) throw std::invalid_argument("timeout must be positive");
    c10d::TCPStoreOptions options;
    options.port = port;
    options.isServer = is_server;
    options.numWorkers = static_cast<size_t>(world_size);
    options.waitWorkers = true;  // a client counts itself in; the server waits for all
    options.timeout = std::chrono::milliseconds(timeout_ms);
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(host, options);
    if (prefix != nullptr && *prefix != 0) store = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
    *out = new ctorch_store_s{std::move(store), address};
  });
}

void ctorch_store_free(ctorch_store store) { delete store; }

int32_t ctorch_store_roll_call(ctorch_store store, const char *key, int32_t rank, int32_t size, int64_t wait_ms,
                               uint8_t *answered) {
  return protect_collective("the roll call at " + std::string(store ? store->address : "(null)"), nullptr, [&] {
    if (store == nullptr || key == nullptr) throw std::invalid_argument("store handle or key is NULL");
    ctorch::require_out(answered);
    if (size < 1 || rank < 0 || rank >= size) throw std::invalid_argument("rank " + std::to_string(rank) + " is not in a world of " + std::to_string(size));
    auto name = [&](int32_t r) { return std::string(key) + "/" + std::to_string(r); };
    store->value->set(name(rank), std::vector<uint8_t>{1});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (true) {
      int32_t present = 0;
      for (int32_t r = 0; r < size; ++r) {
        answered[r] = store->value->check({name(r)}) ? 1 : 0;
        present += answered[r];
      }
      if (present == size || std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

int32_t ctorch_process_group_create_gloo(ctorch_store store, int32_t rank, int32_t size, int64_t timeout_ms,
                                         const char *bind_host, ctorch_process_group *out) {
  return protect_collective("creating the Gloo process group", nullptr, [&] {
    ctorch::require_out(out);
    if (store == nullptr) throw std::invalid_argument("store handle is NULL");
    *out = make_gloo_group(store->value, rank, size, std::chrono::milliseconds(timeout_ms), bind_host ? bind_host : "");
  });
}

int32_t ctorch_process_group_create_sibling(ctorch_store store, ctorch_process_group like, const char *prefix,
                                            ctorch_process_group *out) {
  return protect_collective("creating a second Gloo process group", nullptr, [&] {
    ctorch::require_out(out);
    if (store == nullptr || like == nullptr) throw std::invalid_argument("store or process group handle is NULL");
    if (prefix == nullptr || *prefix == 0) throw std::invalid_argument("a sibling group needs a key prefix");
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(prefix, store->value);
    std::unique_ptr<ctorch_process_group_s> sibling(make_gloo_group(prefixed, like->rank, like->size, like->timeout, like->host));
    if (like->nccl) attach_nccl(*sibling, like->nccl_device);
    *out = sibling.release();
  });
}

int32_t ctorch_nccl_load(void) {
  try {
    nccl_plugin();
    return CTORCH_OK;
  } catch (const std::exception &e) {
    return ctorch::fail(CTORCH_UNAVAILABLE, e.what());
  }
}

int32_t ctorch_process_group_use_nccl(ctorch_process_group group, int32_t device_index) {
  return protect_collective("creating the NCCL process group", nullptr, [&] {
    auto &checked = unwrap_group(group);
    if (checked.nccl) throw std::invalid_argument("the process group uses NCCL already");
    attach_nccl(checked, device_index);
  });
}

void ctorch_process_group_free(ctorch_process_group group) {
  if (group == nullptr) return;
  if (group->broken) {
    // Deliberately leaked: see ctorch_process_group_s::broken.
    (void)group->gloo.release();
    (void)group->nccl.release();
  }
  delete group;
}

int32_t ctorch_process_group_rank(ctorch_process_group group, int32_t *rank, int32_t *size) {
  return ctorch::protect([&] {
    if (group == nullptr) throw std::invalid_argument("process group handle is NULL");
    ctorch::require_out(rank);
    ctorch::require_out(size);
    *rank = group->rank;
    *size = group->size;
  });
}

int32_t ctorch_process_group_all_reduce(ctorch_process_group group, const ctorch_tensor *tensors, size_t count,
                                        int32_t op, ctorch_tensor bucket_storage) {
  return protect_collective("all-reduce", group, [&] {
    unwrap_group(group);
    if (op != CTORCH_COLLECTIVE_SUM && op != CTORCH_COLLECTIVE_AVERAGE)
      throw std::invalid_argument("unknown all-reduce operation " + std::to_string(op));
    auto list = unwrap_list(tensors, count);
    auto groups = buckets(list);
    if (bucket_storage != nullptr && groups.size() == 1) {
      // The caller's persistent bucket: nothing is allocated, so nothing can run out of
      // memory between the backward pass and the collective.
      const auto &storage = ctorch::unwrap(bucket_storage);
      int64_t total = 0;
      for (const auto &t : list) total += t.numel();
      if (storage.dim() != 1 || !storage.is_contiguous() || storage.scalar_type() != list[0].scalar_type() ||
          storage.device() != list[0].device() || storage.numel() < total)
        throw std::invalid_argument("the bucket must be a contiguous 1-D tensor of the tensors' dtype and device, of at least " +
                                    std::to_string(total) + " elements");
      auto flat = storage.narrow(0, 0, total);
      {
        at::NoGradGuard no_grad;
        int64_t offset = 0;
        for (const auto &t : list) {
          flat.narrow(0, offset, t.numel()).view(t.sizes()).copy_(t.detach());
          offset += t.numel();
        }
      }
      std::vector<at::Tensor> one{flat};
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::SUM;
      options.timeout = group->timeout;
      wait(backend_for(group, flat).allreduce(one, options), group->timeout);
      if (op == CTORCH_COLLECTIVE_AVERAGE) flat.div_(group->size);
      unflatten(flat, list, groups[0]);
      return;
    }
    // Every bucket is allocated before the first collective: an out-of-memory error comes
    // before this rank enters the all-reduce, so it can retry its step while the peers wait
    // in this same all-reduce.
    std::vector<at::Tensor> flat;
    for (auto &members : groups) {
      flat.push_back(flatten(list, members));
      if (op == CTORCH_COLLECTIVE_AVERAGE && !at::isFloatingType(flat.back().scalar_type()))
        throw std::invalid_argument("an average all-reduce needs floating-point tensors");
    }
    for (size_t b = 0; b < groups.size(); ++b) {
      std::vector<at::Tensor> bucket{flat[b]};
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::SUM;  // Gloo has no AVG; divided below
      options.timeout = group->timeout;
      wait(backend_for(group, bucket[0]).allreduce(bucket, options), group->timeout);
      if (op == CTORCH_COLLECTIVE_AVERAGE) bucket[0].div_(group->size);
      unflatten(bucket[0], list, groups[b]);
    }
  });
}

int32_t ctorch_process_group_broadcast(ctorch_process_group group, const ctorch_tensor *tensors, size_t count,
                                       int32_t root) {
  return protect_collective("broadcast", group, [&] {
    unwrap_group(group);
    if (root < 0 || root >= group->size) throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank");
    auto list = unwrap_list(tensors, count);
    for (auto &members : buckets(list)) {
      std::vector<at::Tensor> bucket{flatten(list, members)};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      options.timeout = group->timeout;
      wait(backend_for(group, bucket[0]).broadcast(bucket, options), group->timeout);
      unflatten(bucket[0], list, members);
    }
  });
}

int32_t ctorch_process_group_all_gather_int64(ctorch_process_group group, const int64_t *values, size_t count,
                                              int64_t *out) {
  return protect_collective("all-gather", group, [&] {
    auto &pg = gloo_of(group);
    ctorch::require_out(out);
    if (values == nullptr && count > 0) throw std::invalid_argument("values pointer is NULL");
    auto mine = at::empty({static_cast<int64_t>(count)}, at::kLong);
    if (count > 0) std::memcpy(mine.data_ptr<int64_t>(), values, count * sizeof(int64_t));
    std::vector<at::Tensor> input{mine};
    std::vector<std::vector<at::Tensor>> output(1);
    for (int32_t r = 0; r < group->size; ++r) output[0].push_back(at::empty({static_cast<int64_t>(count)}, at::kLong));
    c10d::AllgatherOptions options;
    options.timeout = group->timeout;
    wait(pg.allgather(output, input, options), group->timeout);
    for (int32_t r = 0; r < group->size; ++r) {
      if (count > 0) std::memcpy(out + r * count, output[0][r].data_ptr<int64_t>(), count * sizeof(int64_t));
    }
  });
}

int32_t ctorch_process_group_barrier(ctorch_process_group group) {
  return protect_collective("barrier", group, [&] {
    auto &pg = gloo_of(group);
    c10d::BarrierOptions options;
    options.timeout = group->timeout;
    wait(pg.barrier(options), group->timeout);
  });
}

}  // extern "C"

// ---- synchronised BatchNorm ---------------------------------------------------------
//
// Every collective is an all-reduce (sum) of one float64 payload of fixed width, so a rank
// that answers from ctorch_batch_norm_sync_meet always matches whatever collective the others
// are in. The header:
//   RECOVERABLE, FATAL  ranks reporting a failed micro-batch (out of memory; anything else)
//   DRAINING            ranks waiting in meet (their data is zero)
//   TAG, TAG_SQUARED    the BatchNorm's tag and its square: equal sums of t and t^2 over the
//                       ranks not draining mean every rank is in the same BatchNorm
//   FAILED_RANK         the sum of rank + 1 over fatally failed ranks
//   COUNT               values per channel in this rank's batch
// then two blocks of `channels` values.

struct ctorch_batch_norm_sync_s {
  ctorch_process_group group;
  int64_t channels;
  at::Tensor payload;  // float64, on the CPU for Gloo
  int64_t collectives = 0;
};

namespace {

enum Field : int64_t { RECOVERABLE = 0, FATAL, DRAINING, TAG, TAG_SQUARED, FAILED_RANK, COUNT, HEADER };

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// One all-reduce of the payload, which the caller has filled.
void exchange(ctorch_batch_norm_sync sync) {
  auto &pg = backend_for(sync->group, sync->payload);
  std::vector<at::Tensor> one{sync->payload};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  options.timeout = sync->group->timeout;
  try {
    wait(pg.allreduce(one, options), sync->group->timeout);
  } catch (const std::exception &e) {
    sync->group->broken = true;
    throw std::runtime_error(std::string(ctorch::collective_failed_phrase) + " in synchronised BatchNorm: " + e.what());
  }
  sync->collectives += 1;
}

/// Sums `first` and `second` (per channel) and `count` over the ranks, checking that every
/// rank is in the BatchNorm `tag` and that none reported a failure.
std::tuple<at::Tensor, at::Tensor, int64_t> sum_over_ranks(ctorch_batch_norm_sync sync, int64_t tag, const at::Tensor &first,
                                                          const at::Tensor &second, int64_t count) {
  const int64_t channels = first.numel();
  if (channels > sync->channels)
    throw std::invalid_argument("a BatchNorm of " + std::to_string(channels) + " channels is wider than the synchronisation's " +
                                std::to_string(sync->channels));
  auto &payload = sync->payload;
  payload.zero_();
  auto *values = payload.data_ptr<double>();
  const auto t = static_cast<double>(tag);
  values[TAG] = t;
  values[TAG_SQUARED] = t * t;
  values[COUNT] = static_cast<double>(count);
  payload.narrow(0, HEADER, channels).copy_(first.reshape({-1}));
  payload.narrow(0, HEADER + sync->channels, channels).copy_(second.reshape({-1}));
  exchange(sync);
  if (values[RECOVERABLE] + values[FATAL] > 0)
    throw std::runtime_error(std::string(ctorch::peer_failed_phrase) + "; this rank drops the attempt with it");
  const double present = static_cast<double>(sync->group->size) - values[DRAINING];
  if (values[TAG] != present * t || values[TAG_SQUARED] != present * t * t)
    throw std::runtime_error("the ranks are out of step in synchronised BatchNorm (this rank is in BatchNorm " + std::to_string(tag) +
                             "): every rank must run the same network with the same memory plan");
  auto device = first.device();
  return {payload.narrow(0, HEADER, channels).clone().to(device), payload.narrow(0, HEADER + sync->channels, channels).clone().to(device),
          static_cast<int64_t>(values[COUNT])};
}

std::vector<int64_t> channel_shape(const at::Tensor &input) {
  std::vector<int64_t> shape(input.dim(), 1);
  shape[1] = input.size(1);
  return shape;
}

/// The type statistics and affine factors are kept in: float64 for float64 input, else float32.
at::ScalarType statistics_type(const at::Tensor &input) {
  return input.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

/// y = x * scale + shift, with scale = w * invstd and shift = b - mean * scale; backward
/// sums dy and dy * (x - mean) over the ranks (PyTorch's SyncBatchNorm's terms).
class SynchronizedNormalization : public torch::autograd::Function<SynchronizedNormalization> {
 public:
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &input, const at::Tensor &weight, const at::Tensor &bias,
                            const at::Tensor &mean, const at::Tensor &invstd, int64_t sync, int64_t tag, int64_t count) {
    ctx->save_for_backward({input, weight, mean, invstd});
    ctx->saved_data["sync"] = sync;
    ctx->saved_data["tag"] = tag;
    ctx->saved_data["count"] = count;
    auto shape = channel_shape(input);
    auto scale = weight.to(mean.scalar_type()) * invstd;
    auto shift = bias.to(mean.scalar_type()) - mean * scale;
    auto type = input.scalar_type();
    return at::addcmul(shift.to(type).view(shape), input, scale.to(type).view(shape));
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &input = saved[0];
    const auto &weight = saved[1];
    const auto &mean = saved[2];
    const auto &invstd = saved[3];
    auto *sync = reinterpret_cast<ctorch_batch_norm_sync>(ctx->saved_data["sync"].toInt());
    const int64_t tag = ctx->saved_data["tag"].toInt();
    const double total = static_cast<double>(ctx->saved_data["count"].toInt());
    const auto &dy = grads[0];
    const std::vector<int64_t> dims{0, 2, 3};
    auto mean64 = mean.to(at::kDouble);
    // Summed in the input's type (a dtype argument would convert the whole map first), then
    // combined per channel in float64; dy * (x - mean) directly, not dy * x - mean * dy,
    // which cancels when the mean is large against the deviation.
    auto sum_dy = dy.sum(dims).to(at::kDouble);
    auto centred = input - mean.to(input.scalar_type()).view(channel_shape(input));
    centred.mul_(dy);
    auto sum_dy_xmu = centred.sum(dims).to(at::kDouble);
    centred.reset();
    auto summed = sum_over_ranks(sync, tag, sum_dy, sum_dy_xmu, 0);
    const auto &all_dy = std::get<0>(summed);
    const auto &all_dy_xmu = std::get<1>(summed);
    auto invstd64 = invstd.to(at::kDouble);
    auto w = weight.to(at::kDouble);
    // dx = w * invstd * (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))),
    // the means over every rank's batch: dx = dy * a + x * b + c.
    auto a = w * invstd64;
    auto b = -a * invstd64 * invstd64 * all_dy_xmu / total;
    auto c = -b * mean64 - a * all_dy / total;
    auto shape = channel_shape(input);
    auto type = input.scalar_type();
    auto grad_input = at::addcmul(c.to(type).view(shape), input, b.to(type).view(shape));
    grad_input.addcmul_(dy, a.to(type).view(shape));
    auto grad_weight = (sum_dy_xmu * invstd64).to(weight.scalar_type());
    auto grad_bias = sum_dy.to(weight.scalar_type());
    return {grad_input, grad_weight, grad_bias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

ctorch_batch_norm_sync unwrap_sync(ctorch_batch_norm_sync sync) {
  if (sync == nullptr) throw std::invalid_argument("BatchNorm synchronisation handle is NULL");
  return sync;
}

}  // namespace

extern "C" {

int32_t ctorch_batch_norm_sync_create(ctorch_process_group group, int64_t channels, ctorch_batch_norm_sync *out) {
  return ctorch::protect([&] {
    ctorch::require_out(out);
    if (group == nullptr) throw std::invalid_argument("process group handle is NULL");
    if (channels < 1) throw std::invalid_argument("a synchronised BatchNorm needs at least one channel");
    auto payload = at::zeros({HEADER + 2 * channels}, at::kDouble);
    *out = new ctorch_batch_norm_sync_s{group, channels, std::move(payload)};
  });
}

void ctorch_batch_norm_sync_free(ctorch_batch_norm_sync sync) { delete sync; }

int32_t ctorch_batch_norm_sync_statistics(ctorch_batch_norm_sync sync, int64_t tag, ctorch_tensor input,
                                          ctorch_tensor running_mean, ctorch_tensor running_var, double momentum,
                                          double eps, ctorch_tensor *mean, ctorch_tensor *invstd, int64_t *count) {
  return ctorch::protect([&] {
    unwrap_sync(sync);
    ctorch::require_out(mean);
    ctorch::require_out(invstd);
    ctorch::require_out(count);
    const auto &x = ctorch::unwrap(input);
    if (x.dim() != 4) throw std::invalid_argument("synchronised BatchNorm expects NCHW input");
    at::NoGradGuard no_grad;
    const std::vector<int64_t> dims{0, 2, 3};
    const int64_t channels = x.size(1);
    const int64_t local = channels == 0 ? 0 : x.numel() / channels;
    auto running = ctorch::unwrap_optional(running_mean);
    auto running_variance = ctorch::unwrap_optional(running_var);
    // Sums of x - k and (x - k)^2 lose digits when the mean is far from k; k = the running
    // mean (the same on every rank) is close, and each rank's own part is Welford's.
    auto shift = running ? running->to(at::kDouble) : at::zeros({channels}, x.options().dtype(at::kDouble));
    auto first = at::zeros({channels}, x.options().dtype(at::kDouble));
    auto second = at::zeros({channels}, x.options().dtype(at::kDouble));
    if (local > 0) {
      auto [variance, average] = at::var_mean(x, at::IntArrayRef(dims), std::optional<at::Scalar>(0), /*keepdim=*/false);
      auto offset = average.to(at::kDouble) - shift;
      first = offset * static_cast<double>(local);
      second = (variance.to(at::kDouble) + offset * offset) * static_cast<double>(local);
    }
    auto [sum_first, sum_second, total] = sum_over_ranks(sync, tag, first, second, local);
    if (total < 1) throw std::invalid_argument("synchronised BatchNorm saw no values on any rank");
    auto offset = sum_first / static_cast<double>(total);
    auto variance = (sum_second / static_cast<double>(total) - offset * offset).clamp_min(0);
    auto average = shift + offset;
    if (running && running_variance) {
      const double unbiased = total > 1 ? static_cast<double>(total) / static_cast<double>(total - 1) : 1.0;
      running->mul_(1 - momentum).add_((average * momentum).to(running->scalar_type()));
      running_variance->mul_(1 - momentum).add_((variance * (momentum * unbiased)).to(running_variance->scalar_type()));
    }
    auto type = statistics_type(x);
    *mean = ctorch::wrap(average.to(type));
    *invstd = ctorch::wrap((variance + eps).rsqrt().to(type));
    *count = total;
  });
}

int32_t ctorch_batch_norm_sync_normalize(ctorch_batch_norm_sync sync, int64_t tag, ctorch_tensor input,
                                         ctorch_tensor weight, ctorch_tensor bias, ctorch_tensor mean,
                                         ctorch_tensor invstd, int64_t count, ctorch_tensor *out) {
  return ctorch::protect([&] {
    unwrap_sync(sync);
    ctorch::require_out(out);
    if (count < 1) throw std::invalid_argument("the synchronised count must be positive");
    *out = ctorch::wrap(SynchronizedNormalization::apply(
        ctorch::unwrap(input), ctorch::unwrap(weight), ctorch::unwrap(bias), ctorch::unwrap(mean), ctorch::unwrap(invstd),
        reinterpret_cast<int64_t>(sync), tag, count));
  });
}

int32_t ctorch_batch_norm_sync_meet(ctorch_batch_norm_sync sync, int32_t failure, int32_t *worst, int32_t *failed_rank) {
  return protect_collective("synchronised BatchNorm", sync == nullptr ? nullptr : sync->group, [&] {
    unwrap_sync(sync);
    ctorch::require_out(worst);
    ctorch::require_out(failed_rank);
    if (failure < CTORCH_STEP_OK || failure > CTORCH_STEP_FATAL)
      throw std::invalid_argument("unknown step failure " + std::to_string(failure));
    const double world = static_cast<double>(sync->group->size);
    double recoverable = 0, fatal = 0, fatal_ranks = 0;
    // Answer the others' collectives until every rank is here. Each rank repeats its own
    // report every time, so each sees every report at least once.
    while (true) {
      auto &payload = sync->payload;
      payload.zero_();
      auto *values = payload.data_ptr<double>();
      values[RECOVERABLE] = failure == CTORCH_STEP_RECOVERABLE ? 1 : 0;
      values[FATAL] = failure == CTORCH_STEP_FATAL ? 1 : 0;
      values[FAILED_RANK] = failure == CTORCH_STEP_FATAL ? sync->group->rank + 1 : 0;
      values[DRAINING] = 1;
      exchange(sync);
      recoverable = std::max(recoverable, values[RECOVERABLE]);
      if (values[FATAL] > fatal) {
        fatal = values[FATAL];
        fatal_ranks = values[FAILED_RANK];
      }
      if (values[DRAINING] >= world) break;
    }
    *worst = fatal > 0 ? CTORCH_STEP_FATAL : (recoverable > 0 ? CTORCH_STEP_RECOVERABLE : CTORCH_STEP_OK);
    *failed_rank = fatal == 1 ? static_cast<int32_t>(fatal_ranks) - 1 : -1;
  });
}

int64_t ctorch_batch_norm_sync_collectives(ctorch_batch_norm_sync sync) { return sync == nullptr ? 0 : sync->collectives; }

}  // extern "C"

// ---- gradients all-reduced during backward -------------------------------------------

struct ctorch_gradient_reducer_s {
  struct Bucket {
    std::vector<size_t> members;  // parameter indices
    at::Tensor flat;
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  ctorch_process_group group;
  std::vector<at::Tensor> parameters;
  // Held so that every backward reuses the same accumulators, which carry the hooks.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hooks;  // each accumulator's hook, to remove it
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;
  std::vector<int64_t> offset_of;  // each parameter's first element in its bucket
  std::mutex mutex;
  bool armed = false;
  size_t next = 0;  // the next bucket to launch: strictly in order

  /// Parameter `i`'s place in its bucket.
  at::Tensor slice(size_t i) {
    return buckets[bucket_of[i]].flat.narrow(0, offset_of[i], parameters[i].numel()).view(parameters[i].sizes());
  }

  /// Whether parameter `i`'s gradient is its place in the bucket (nothing to copy).
  bool in_place(size_t i) {
    const auto &grad = parameters[i].grad();
    return grad.defined() && grad.data_ptr() == slice(i).data_ptr() && grad.sizes() == parameters[i].sizes() &&
           grad.is_contiguous();
  }

  void launch(size_t index) {
    auto &bucket = buckets[index];
    {
      at::NoGradGuard no_grad;
      for (auto i : bucket.members) {
        if (in_place(i)) continue;
        const auto &grad = parameters[i].grad();
        if (grad.defined()) slice(i).copy_(grad); else slice(i).zero_();
      }
    }
    std::vector<at::Tensor> one{bucket.flat};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    options.timeout = group->timeout;
    try {
      bucket.work = backend_for(group, bucket.flat).allreduce(one, options);
    } catch (const std::exception &e) {
      group->broken = true;
      throw std::runtime_error(std::string(ctorch::collective_failed_phrase) + " launching a gradient bucket: " + e.what());
    }
  }

  /// Parameter `index`'s gradient is final for this backward.
  void ready(size_t index) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    auto &bucket = buckets[bucket_of[index]];
    if (bucket.pending > 0) bucket.pending -= 1;
    while (next < buckets.size() && buckets[next].pending == 0) launch(next++);
  }
};

namespace {

/// Runs after a parameter's gradient accumulator: its gradient is final for this backward.
class GradientReadyHook : public torch::autograd::FunctionPostHook {
 public:
  GradientReadyHook(ctorch_gradient_reducer reducer, size_t index) : reducer_(reducer), index_(index) {}
  variable_list operator()(const variable_list &outputs, const variable_list & /*inputs*/) override {
    reducer_->ready(index_);
    return outputs;
  }

 private:
  ctorch_gradient_reducer reducer_;
  size_t index_;
};

ctorch_gradient_reducer unwrap_reducer(ctorch_gradient_reducer reducer) {
  if (reducer == nullptr) throw std::invalid_argument("gradient reducer handle is NULL");
  return reducer;
}

}  // namespace

extern "C" {

int32_t ctorch_gradient_reducer_create(ctorch_process_group group, const ctorch_tensor *parameters, size_t count,
                                       int64_t bucket_bytes, ctorch_gradient_reducer *out) {
  return ctorch::protect([&] {
    ctorch::require_out(out);
    if (group == nullptr) throw std::invalid_argument("process group handle is NULL");
    if (bucket_bytes < 1) throw std::invalid_argument("the bucket size must be positive");
    auto reducer = std::make_unique<ctorch_gradient_reducer_s>();
    reducer->group = group;
    reducer->parameters = unwrap_list(parameters, count);
    reducer->bucket_of.assign(count, 0);
    // Reverse order: the last layers' gradients are final first in backward.
    for (size_t k = count; k-- > 0;) {
      const auto &parameter = reducer->parameters[k];
      if (!parameter.requires_grad() || !parameter.is_leaf())
        throw std::invalid_argument("every reduced parameter must be a leaf that requires a gradient");
      auto &buckets = reducer->buckets;
      const int64_t bytes = parameter.numel() * parameter.element_size();
      bool fresh = buckets.empty() || buckets.back().flat.defined();  // flat set below when closed
      if (!fresh) {
        int64_t held = 0;
        for (auto i : buckets.back().members) held += reducer->parameters[i].numel() * reducer->parameters[i].element_size();
        const auto &first = reducer->parameters[buckets.back().members.front()];
        fresh = held + bytes > bucket_bytes || first.scalar_type() != parameter.scalar_type() || first.device() != parameter.device();
        if (fresh) {
          int64_t elements = 0;
          for (auto i : buckets.back().members) elements += reducer->parameters[i].numel();
          buckets.back().flat = at::empty({elements}, first.options().requires_grad(false));
        }
      }
      if (fresh) buckets.emplace_back();
      buckets.back().members.push_back(k);
      reducer->bucket_of[k] = buckets.size() - 1;
    }
    reducer->offset_of.assign(count, 0);
    for (const auto &bucket : reducer->buckets) {
      int64_t offset = 0;
      for (auto i : bucket.members) {
        reducer->offset_of[i] = offset;
        offset += reducer->parameters[i].numel();
      }
    }
    if (!reducer->buckets.empty() && !reducer->buckets.back().flat.defined()) {
      auto &last = reducer->buckets.back();
      int64_t elements = 0;
      for (auto i : last.members) elements += reducer->parameters[i].numel();
      last.flat = at::empty({elements}, reducer->parameters[last.members.front()].options().requires_grad(false));
    }
    for (size_t k = 0; k < count; ++k) {
      auto accumulator = torch::autograd::impl::grad_accumulator(reducer->parameters[k]);
      reducer->hooks.push_back(accumulator->add_post_hook(std::make_unique<GradientReadyHook>(reducer.get(), k)));
      reducer->accumulators.push_back(std::move(accumulator));
    }
    *out = reducer.release();
  });
}

void ctorch_gradient_reducer_free(ctorch_gradient_reducer reducer) {
  if (reducer == nullptr) return;
  // The accumulators may outlive the reducer (a graph may still hold them): their hooks,
  // which point at it, go first.
  for (size_t k = 0; k < reducer->accumulators.size(); ++k) reducer->accumulators[k]->del_post_hook(reducer->hooks[k]);
  delete reducer;
}

int32_t ctorch_gradient_reducer_arm(ctorch_gradient_reducer reducer) {
  return ctorch::protect([&] {
    unwrap_reducer(reducer);
    std::lock_guard<std::mutex> lock(reducer->mutex);
    if (reducer->armed) throw std::invalid_argument("the gradient reducer is armed already");
    for (auto &bucket : reducer->buckets) {
      bucket.pending = bucket.members.size();
      bucket.work.reset();
    }
    reducer->next = 0;
    reducer->armed = true;
  });
}

int32_t ctorch_gradient_reducer_disarm(ctorch_gradient_reducer reducer) {
  return ctorch::protect([&] {
    unwrap_reducer(reducer);
    std::lock_guard<std::mutex> lock(reducer->mutex);
    if (reducer->next > 0) throw std::invalid_argument("buckets were launched: finish them instead");
    reducer->armed = false;
  });
}

int32_t ctorch_gradient_reducer_progress(ctorch_gradient_reducer reducer, int64_t *launched, int64_t *buckets) {
  return ctorch::protect([&] {
    unwrap_reducer(reducer);
    ctorch::require_out(launched);
    ctorch::require_out(buckets);
    std::lock_guard<std::mutex> lock(reducer->mutex);
    *launched = static_cast<int64_t>(reducer->next);
    *buckets = static_cast<int64_t>(reducer->buckets.size());
  });
}

int32_t ctorch_gradient_reducer_finish(ctorch_gradient_reducer reducer, bool keep) {
  return protect_collective("gradient all-reduce", reducer == nullptr ? nullptr : reducer->group, [&] {
    unwrap_reducer(reducer);
    std::lock_guard<std::mutex> lock(reducer->mutex);
    if (!reducer->armed) reducer->next = 0;  // backward launched nothing: all of them now
    reducer->armed = false;
    while (reducer->next < reducer->buckets.size()) reducer->launch(reducer->next++);
    for (auto &bucket : reducer->buckets) {
      wait(bucket.work, reducer->group->timeout);
      bucket.work.reset();
    }
    if (!keep) return;
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < reducer->parameters.size(); ++i) {
      if (reducer->in_place(i)) continue;
      auto &parameter = reducer->parameters[i];
      if (parameter.grad().defined()) parameter.mutable_grad().copy_(reducer->slice(i)); else parameter.mutable_grad() = reducer->slice(i);
    }
  });
}

int32_t ctorch_gradient_reducer_attach(ctorch_gradient_reducer reducer) {
  return ctorch::protect([&] {
    unwrap_reducer(reducer);
    std::lock_guard<std::mutex> lock(reducer->mutex);
    at::NoGradGuard no_grad;
    for (auto &bucket : reducer->buckets) bucket.flat.zero_();
    for (size_t i = 0; i < reducer->parameters.size(); ++i) reducer->parameters[i].mutable_grad() = reducer->slice(i);
  });
}

}  // extern "C"
