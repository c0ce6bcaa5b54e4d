// Gradients all-reduced during backward (PyTorch DDP's overlap): buckets in reverse parameter
// order, each launched from a gradient accumulator's post-hook once all its gradients are final.
#include "distributed.hpp"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <mutex>

using namespace ctorch::distributed;
using torch::autograd::variable_list;

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

  /// Parameter `i`'s place in its bucket, laid out as the parameter is (channels-last weights
  /// get channels-last gradients, as PyTorch's DDP builds its bucket views): autograd
  /// otherwise warns that the gradient does not obey the layout contract, and copies.
  at::Tensor slice(size_t i) {
    const auto &parameter = parameters[i];
    auto place = buckets[bucket_of[i]].flat.narrow(0, offset_of[i], parameter.numel());
    if (parameter.is_non_overlapping_and_dense()) return place.as_strided(parameter.sizes(), parameter.strides());
    return place.view(parameter.sizes());
  }

  /// Whether parameter `i`'s gradient is its place in the bucket (nothing to copy).
  bool in_place(size_t i) {
    const auto &grad = parameters[i].grad();
    if (!grad.defined()) return false;
    const auto place = slice(i);
    return grad.data_ptr() == place.data_ptr() && grad.sizes() == place.sizes() && grad.strides() == place.strides();
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
