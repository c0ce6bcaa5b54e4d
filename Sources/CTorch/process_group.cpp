// c10d process groups: TCPStore rendezvous, Gloo collectives and, for CUDA tensors when a
// run asks for it, NCCL's (through the NCCL plugin, Sources/CTorchNCCL, loaded at run time).
//
// The only translation unit that includes gloo headers. The torch wheel ships
// ProcessGroupGloo.hpp but not the gloo headers it includes; Debian's libgloo-dev provides
// headers that compile. Nothing from Debian's gloo is linked: libtorch_cpu holds its own
// gloo and every c10d symbol used here, and no gloo type is touched by value here (the
// transport device is only passed along as the shared_ptr c10d hands out), so a layout
// difference between the two gloo versions cannot matter.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif

#include "distributed.hpp"

#include <c10/util/Logging.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "../CTorchNCCL/include/ctorch_nccl.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

using namespace ctorch::distributed;

struct ctorch_store_s {
  c10::intrusive_ptr<c10d::Store> value;
  std::string address;  // host:port, for messages
};

namespace {

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

/// c10d logs a store whose peer went away (rank 0 killed: "sendBytes failed … Broken pipe") as
/// a warning carrying the exception's 20-frame C++ backtrace, printed before Headroom's own
/// message names the rank that died. Warnings of libtorch's C++ log are off in a rendezvous
/// unless TORCH_CPP_LOG_LEVEL asks for them (libtorch reads that variable only from Python).
void quiet_cpp_warnings() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char *level = std::getenv("TORCH_CPP_LOG_LEVEL");
    if (level == nullptr || *level == 0) {
      if (FLAGS_caffe2_log_level < 2) FLAGS_caffe2_log_level = 2;  // 2: errors only
    } else if (std::strcmp(level, "INFO") == 0 || std::strcmp(level, "0") == 0) {
      FLAGS_caffe2_log_level = 0;
    } else if (std::strcmp(level, "WARNING") == 0 || std::strcmp(level, "1") == 0) {
      FLAGS_caffe2_log_level = 1;
    }
  });
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
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);  // may throw: before the handle
  auto group = new ctorch_process_group_s{};
  group->gloo = std::move(gloo);
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
    throw std::runtime_error(error);
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
    quiet_cpp_warnings();
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
  return protect_collective("creating a second process group", nullptr, [&] {
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
  if (group->nccl) {
    // As torch.distributed.destroy_process_group: NCCL's communicators are shut down before
    // the group goes (else it warns, and its watchdog may outlive it); after a failure they
    // are aborted, which does not wait for peers that are gone.
    try {
      if (group->broken) group->nccl->abort(); else group->nccl->shutdown();
    } catch (...) {
    }
  }
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
