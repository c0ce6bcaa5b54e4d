// c10d process groups: TCPStore rendezvous and Gloo collectives.
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

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>

struct ctorch_store_s {
  c10::intrusive_ptr<c10d::Store> value;
  std::string address;  // host:port, for messages
};

struct ctorch_process_group_s {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> value;
  int32_t rank;
  int32_t size;
  std::chrono::milliseconds timeout;
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

c10d::ProcessGroupGloo &unwrap_group(ctorch_process_group group) {
  if (group == nullptr) throw std::invalid_argument("process group handle is NULL");
  if (group->broken)
    throw std::invalid_argument("the process group is unusable after an earlier collective failed");
  return *group->value;
}

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

bool is_loopback(const std::string &host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

extern "C" {

int32_t ctorch_store_create(const char *host, uint16_t port, bool is_server, int32_t world_size, int64_t timeout_ms,
                            const char *prefix, ctorch_store *out) {
  std::string address = std::string(host ? host : "(null)") + ":" + std::to_string(port);
  return protect_collective("rendezvous at " + address, nullptr, [&] {
    ctorch::require_out(out);
    if (host == nullptr || *host == 0) throw std::invalid_argument("the rendezvous host is empty");
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

int32_t ctorch_process_group_create_gloo(ctorch_store store, int32_t rank, int32_t size, int64_t timeout_ms,
                                         const char *bind_host, ctorch_process_group *out) {
  return protect_collective("creating the Gloo process group", nullptr, [&] {
    ctorch::require_out(out);
    if (store == nullptr) throw std::invalid_argument("store handle is NULL");
    if (size < 1 || rank < 0 || rank >= size)
      throw std::invalid_argument("rank " + std::to_string(rank) + " is not in a world of " + std::to_string(size));
    auto timeout = std::chrono::milliseconds(timeout_ms);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // GLOO_SOCKET_IFNAME picks the interface, as in PyTorch; a loopback rendezvous binds
    // to loopback (a single machine); otherwise the address this host's name resolves to.
    const char *interface = std::getenv("GLOO_SOCKET_IFNAME");
    std::string host = bind_host ? bind_host : "";
    if (interface != nullptr && *interface != 0) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (is_loopback(host)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 2;
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store->value, rank, size, options);
    *out = new ctorch_process_group_s{std::move(group), rank, size, timeout};
  });
}

void ctorch_process_group_free(ctorch_process_group group) {
  if (group == nullptr) return;
  if (group->broken) {
    // Deliberately leaked: see ctorch_process_group_s::broken.
    (void)group->value.release();
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
    auto &pg = unwrap_group(group);
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
      wait(pg.allreduce(one, options), group->timeout);
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
      wait(pg.allreduce(bucket, options), group->timeout);
      if (op == CTORCH_COLLECTIVE_AVERAGE) bucket[0].div_(group->size);
      unflatten(bucket[0], list, groups[b]);
    }
  });
}

int32_t ctorch_process_group_broadcast(ctorch_process_group group, const ctorch_tensor *tensors, size_t count,
                                       int32_t root) {
  return protect_collective("broadcast", group, [&] {
    auto &pg = unwrap_group(group);
    if (root < 0 || root >= group->size) throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not a rank");
    auto list = unwrap_list(tensors, count);
    for (auto &members : buckets(list)) {
      std::vector<at::Tensor> bucket{flatten(list, members)};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      options.timeout = group->timeout;
      wait(pg.broadcast(bucket, options), group->timeout);
      unflatten(bucket[0], list, members);
    }
  });
}

int32_t ctorch_process_group_all_gather_int64(ctorch_process_group group, const int64_t *values, size_t count,
                                              int64_t *out) {
  return protect_collective("all-gather", group, [&] {
    auto &pg = unwrap_group(group);
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
    auto &pg = unwrap_group(group);
    c10d::BarrierOptions options;
    options.timeout = group->timeout;
    wait(pg.barrier(options), group->timeout);
  });
}

}  // extern "C"
