// Synchronised BatchNorm (--sync-bn): BatchNorm statistics and their gradient terms summed
// over the ranks inside forward and backward, without a hang when a rank fails.
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

#include "distributed.hpp"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <tuple>

using namespace ctorch::distributed;

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
    // Σdy and Σdy·(x − mean) in one pass over the map, by BatchNorm's own backward kernel
    // asked for its bias and weight gradients alone (Σdy and Σdy·(x − mean)·invstd): half
    // the time of summing dy, then (x − mean)·dy, separately. In the input's type, as that
    // kernel wants, then combined per channel in float64; it takes dy · (x − mean) directly,
    // not dy · x − mean · dy, which cancels when the mean is large against the deviation.
    const auto type = input.scalar_type();
    const auto invstd_in_type = invstd.to(type);
    auto sums = at::native_batch_norm_backward(dy, input, /*weight=*/{}, /*running_mean=*/{}, /*running_var=*/{},
                                               mean.to(type), invstd_in_type, /*train=*/true, /*eps=*/0, {false, true, true});
    auto sum_dy = std::get<2>(sums).to(at::kDouble);
    auto sum_dy_xmu = std::get<1>(sums).to(at::kDouble) / invstd_in_type.to(at::kDouble);
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
    auto grad_input = at::addcmul(c.to(type).view(shape), input, b.to(type).view(shape));
    grad_input.addcmul_(dy, a.to(type).view(shape));
    auto grad_weight = std::get<1>(sums).to(weight.scalar_type());  // local: the step's all-reduce sums them
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
