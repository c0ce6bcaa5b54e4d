// Tensor operations: elementwise, reductions, shape and indexing, neural-network ops.
#include "shim.hpp"

using namespace ctorch;

namespace {

at::Tensor binary(int32_t op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
    case CTORCH_ADD: return at::add(a, b);
    case CTORCH_SUB: return at::sub(a, b);
    case CTORCH_MUL: return at::mul(a, b);
    case CTORCH_DIV: return at::div(a, b);
    case CTORCH_POW: return at::pow(a, b);
    case CTORCH_MAXIMUM: return at::maximum(a, b);
    case CTORCH_MINIMUM: return at::minimum(a, b);
    case CTORCH_EQ: return at::eq(a, b);
    case CTORCH_NE: return at::ne(a, b);
    case CTORCH_LT: return at::lt(a, b);
    case CTORCH_LE: return at::le(a, b);
    case CTORCH_GT: return at::gt(a, b);
    case CTORCH_GE: return at::ge(a, b);
    case CTORCH_LOGICAL_AND: return at::logical_and(a, b);
    case CTORCH_LOGICAL_OR: return at::logical_or(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

void binary_in_place(int32_t op, const at::Tensor &a, const at::Tensor &b) {
  auto target = a;  // a handle to the same tensor; the in-place methods are non-const
  switch (op) {
    case CTORCH_ADD: target.add_(b); return;
    case CTORCH_SUB: target.sub_(b); return;
    case CTORCH_MUL: target.mul_(b); return;
    case CTORCH_DIV: target.div_(b); return;
    case CTORCH_POW: target.pow_(b); return;
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place form");
}

at::Tensor unary(int32_t op, const at::Tensor &a) {
  switch (op) {
    case CTORCH_NEG: return at::neg(a);
    case CTORCH_ABS: return at::abs(a);
    case CTORCH_EXP: return at::exp(a);
    case CTORCH_LOG: return at::log(a);
    case CTORCH_SQRT: return at::sqrt(a);
    case CTORCH_RSQRT: return at::rsqrt(a);
    case CTORCH_RELU: return at::relu(a);
    case CTORCH_SIGMOID: return at::sigmoid(a);
    case CTORCH_TANH: return at::tanh(a);
    case CTORCH_SQUARE: return at::square(a);
    case CTORCH_SIGN: return at::sign(a);
    case CTORCH_FLOOR: return at::floor(a);
    case CTORCH_CEIL: return at::ceil(a);
    case CTORCH_ROUND: return at::round(a);
    case CTORCH_LOGICAL_NOT: return at::logical_not(a);
    case CTORCH_ISFINITE: return at::isfinite(a);
    case CTORCH_RECIPROCAL: return at::reciprocal(a);
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

void unary_in_place(int32_t op, const at::Tensor &a) {
  auto target = a;
  switch (op) {
    case CTORCH_NEG: target.neg_(); return;
    case CTORCH_ABS: target.abs_(); return;
    case CTORCH_EXP: target.exp_(); return;
    case CTORCH_LOG: target.log_(); return;
    case CTORCH_SQRT: target.sqrt_(); return;
    case CTORCH_RSQRT: target.rsqrt_(); return;
    case CTORCH_RELU: target.relu_(); return;
    case CTORCH_SIGMOID: target.sigmoid_(); return;
    case CTORCH_TANH: target.tanh_(); return;
    case CTORCH_SQUARE: target.square_(); return;
    case CTORCH_SIGN: target.sign_(); return;
    case CTORCH_FLOOR: target.floor_(); return;
    case CTORCH_CEIL: target.ceil_(); return;
    case CTORCH_ROUND: target.round_(); return;
    case CTORCH_RECIPROCAL: target.reciprocal_(); return;
  }
  throw std::invalid_argument("unary op " + std::to_string(op) + " has no in-place form");
}

std::vector<at::Tensor> tensor_list(const ctorch_tensor *tensors, size_t count) {
  if (tensors == nullptr && count > 0) throw std::invalid_argument("tensor array is NULL");
  std::vector<at::Tensor> list;
  list.reserve(count);
  for (size_t i = 0; i < count; ++i) list.push_back(unwrap(tensors[i]));
  return list;
}

at::IntArrayRef pair(const int64_t *values, const char *name) {
  if (values == nullptr) throw std::invalid_argument(std::string(name) + " is NULL");
  return at::IntArrayRef(values, 2);
}

at::Reduction::Reduction reduction(int32_t code) {
  switch (code) {
    case CTORCH_REDUCTION_NONE: return at::Reduction::None;
    case CTORCH_REDUCTION_MEAN: return at::Reduction::Mean;
    case CTORCH_REDUCTION_SUM: return at::Reduction::Sum;
  }
  throw std::invalid_argument("unknown reduction " + std::to_string(code));
}

}  // namespace

extern "C" {

int32_t ctorch_binary(int32_t op, ctorch_tensor a, ctorch_tensor b, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(binary(op, unwrap(a), unwrap(b)));
  });
}

int32_t ctorch_binary_scalar(int32_t op, ctorch_tensor a, double scalar, bool integral, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(binary(op, unwrap(a), wrapped_scalar(scalar, integral)));
  });
}

int32_t ctorch_binary_(int32_t op, ctorch_tensor a, ctorch_tensor b) {
  return protect([&] { binary_in_place(op, unwrap(a), unwrap(b)); });
}

int32_t ctorch_binary_scalar_(int32_t op, ctorch_tensor a, double scalar, bool integral) {
  return protect([&] { binary_in_place(op, unwrap(a), wrapped_scalar(scalar, integral)); });
}

int32_t ctorch_unary(int32_t op, ctorch_tensor a, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(unary(op, unwrap(a)));
  });
}

int32_t ctorch_unary_(int32_t op, ctorch_tensor a) {
  return protect([&] { unary_in_place(op, unwrap(a)); });
}

int32_t ctorch_add_scaled_(ctorch_tensor a, ctorch_tensor b, double alpha) {
  return protect([&] {
    auto target = unwrap(a);
    target.add_(unwrap(b), alpha);
  });
}

int32_t ctorch_addcmul_(ctorch_tensor a, ctorch_tensor b, ctorch_tensor c, double value) {
  return protect([&] {
    auto target = unwrap(a);
    target.addcmul_(unwrap(b), unwrap(c), value);
  });
}

int32_t ctorch_addcdiv_(ctorch_tensor a, ctorch_tensor b, ctorch_tensor c, double value) {
  return protect([&] {
    auto target = unwrap(a);
    target.addcdiv_(unwrap(b), unwrap(c), value);
  });
}

int32_t ctorch_fused_sgd_(const ctorch_tensor *parameters, const ctorch_tensor *gradients,
                          const ctorch_tensor *momentum_buffers, size_t count, double weight_decay, double momentum,
                          double learning_rate, double dampening, bool nesterov, bool is_first_step) {
  return protect([&] {
    auto buffers = momentum == 0 ? std::vector<at::Tensor>() : tensor_list(momentum_buffers, count);
    at::_fused_sgd_(tensor_list(parameters, count), tensor_list(gradients, count), buffers, weight_decay, momentum,
                    learning_rate, dampening, nesterov, /*maximize=*/false, is_first_step);
  });
}

int32_t ctorch_fused_adam_(const ctorch_tensor *parameters, const ctorch_tensor *gradients, const ctorch_tensor *averages,
                           const ctorch_tensor *squared_averages, const ctorch_tensor *steps, size_t count,
                           double learning_rate, double beta1, double beta2, double weight_decay, double eps,
                           bool decoupled_weight_decay) {
  return protect([&] {
    std::vector<at::Tensor> none;
    if (decoupled_weight_decay)
      at::_fused_adamw_(tensor_list(parameters, count), tensor_list(gradients, count), tensor_list(averages, count),
                        tensor_list(squared_averages, count), none, tensor_list(steps, count), learning_rate, beta1, beta2,
                        weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
    else
      at::_fused_adam_(tensor_list(parameters, count), tensor_list(gradients, count), tensor_list(averages, count),
                       tensor_list(squared_averages, count), none, tensor_list(steps, count), learning_rate, beta1, beta2,
                       weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
  });
}

int32_t ctorch_clamp(ctorch_tensor a, double min, bool has_min, double max, bool has_max, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    std::optional<at::Scalar> low = has_min ? std::optional<at::Scalar>(min) : std::nullopt;
    std::optional<at::Scalar> high = has_max ? std::optional<at::Scalar>(max) : std::nullopt;
    *out = wrap(at::clamp(unwrap(a), low, high));
  });
}

int32_t ctorch_where(ctorch_tensor condition, ctorch_tensor a, ctorch_tensor b, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::where(unwrap(condition), unwrap(a), unwrap(b)));
  });
}

int32_t ctorch_reduce(int32_t op, ctorch_tensor a, const int64_t *dims, size_t ndims, bool keepdim,
                      ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    const auto &value = unwrap(a);
    at::OptionalIntArrayRef over = ndims == 0 ? at::OptionalIntArrayRef() : int_array(dims, ndims);
    switch (op) {
      case CTORCH_SUM: *out = wrap(at::sum(value, over, keepdim)); return;
      case CTORCH_MEAN: *out = wrap(at::mean(value, over, keepdim)); return;
      case CTORCH_AMAX: *out = wrap(at::amax(value, int_array(dims, ndims), keepdim)); return;
      case CTORCH_AMIN: *out = wrap(at::amin(value, int_array(dims, ndims), keepdim)); return;
    }
    throw std::invalid_argument("unknown reduction op " + std::to_string(op));
  });
}

int32_t ctorch_argmax(ctorch_tensor a, int64_t dim, bool keepdim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::argmax(unwrap(a), dim, keepdim));
  });
}

int32_t ctorch_topk(ctorch_tensor a, int64_t k, int64_t dim, bool largest, bool sorted, ctorch_tensor *values,
                    ctorch_tensor *indices) {
  return protect([&] {
    require_out(values);
    require_out(indices);
    auto [top, where] = at::topk(unwrap(a), k, dim, largest, sorted);
    *values = wrap(std::move(top));
    *indices = wrap(std::move(where));
  });
}

int32_t ctorch_bincount(ctorch_tensor a, int64_t minlength, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::bincount(unwrap(a), std::nullopt, minlength));
  });
}

int32_t ctorch_softmax(ctorch_tensor a, int64_t dim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::softmax(unwrap(a), dim));
  });
}

int32_t ctorch_log_softmax(ctorch_tensor a, int64_t dim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::log_softmax(unwrap(a), dim));
  });
}

int32_t ctorch_reshape(ctorch_tensor a, const int64_t *shape, size_t ndim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::reshape(unwrap(a), int_array(shape, ndim)));
  });
}

int32_t ctorch_permute(ctorch_tensor a, const int64_t *dims, size_t ndim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::permute(unwrap(a), int_array(dims, ndim)));
  });
}

int32_t ctorch_flatten(ctorch_tensor a, int64_t start_dim, int64_t end_dim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::flatten(unwrap(a), start_dim, end_dim));
  });
}

int32_t ctorch_unsqueeze(ctorch_tensor a, int64_t dim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::unsqueeze(unwrap(a), dim));
  });
}

int32_t ctorch_cat(const ctorch_tensor *tensors, size_t count, int64_t dim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::cat(tensor_list(tensors, count), dim));
  });
}

int32_t ctorch_stack(const ctorch_tensor *tensors, size_t count, int64_t dim, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::stack(tensor_list(tensors, count), dim));
  });
}

int32_t ctorch_slice(ctorch_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::slice(unwrap(a), dim, start, end, step));
  });
}

int32_t ctorch_select(ctorch_tensor a, int64_t dim, int64_t index, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::select(unwrap(a), dim, index));
  });
}

int32_t ctorch_index_select(ctorch_tensor a, int64_t dim, ctorch_tensor index, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::index_select(unwrap(a), dim, unwrap(index)));
  });
}

int32_t ctorch_flip(ctorch_tensor a, const int64_t *dims, size_t ndims, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::flip(unwrap(a), int_array(dims, ndims)));
  });
}

int32_t ctorch_conv2d(ctorch_tensor input, ctorch_tensor weight, ctorch_tensor bias, const int64_t *stride,
                      const int64_t *padding, const int64_t *dilation, int64_t groups, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::conv2d(unwrap(input), unwrap(weight), unwrap_optional(bias), pair(stride, "stride"),
                           pair(padding, "padding"), pair(dilation, "dilation"), groups));
  });
}

int32_t ctorch_batch_norm(ctorch_tensor input, ctorch_tensor weight, ctorch_tensor bias, ctorch_tensor running_mean,
                          ctorch_tensor running_var, bool training, double momentum, double eps,
                          ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::batch_norm(unwrap(input), unwrap_optional(weight), unwrap_optional(bias),
                               unwrap_optional(running_mean), unwrap_optional(running_var), training, momentum,
                               eps, /*cudnn_enabled=*/true));
  });
}

int32_t ctorch_max_pool2d(ctorch_tensor input, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
                          const int64_t *dilation, bool ceil_mode, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::max_pool2d(unwrap(input), pair(kernel, "kernel"), pair(stride, "stride"),
                               pair(padding, "padding"), pair(dilation, "dilation"), ceil_mode));
  });
}

int32_t ctorch_adaptive_avg_pool2d(ctorch_tensor input, const int64_t *output_size, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::adaptive_avg_pool2d(unwrap(input), pair(output_size, "output size")));
  });
}

int32_t ctorch_linear(ctorch_tensor input, ctorch_tensor weight, ctorch_tensor bias, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::linear(unwrap(input), unwrap(weight), unwrap_optional(bias)));
  });
}

int32_t ctorch_matmul(ctorch_tensor a, ctorch_tensor b, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::matmul(unwrap(a), unwrap(b)));
  });
}

int32_t ctorch_cross_entropy(ctorch_tensor logits, ctorch_tensor target, ctorch_tensor weight, int32_t reduction_code,
                             int64_t ignore_index, double label_smoothing, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::cross_entropy_loss(unwrap(logits), unwrap(target), unwrap_optional(weight),
                                       reduction(reduction_code), ignore_index, label_smoothing));
  });
}

int32_t ctorch_interpolate_bilinear(ctorch_tensor input, const int64_t *size, bool align_corners, bool antialias,
                                    ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    const auto &value = unwrap(input);
    auto target = pair(size, "size");
    *out = wrap(antialias ? at::_upsample_bilinear2d_aa(value, target, align_corners, std::nullopt)
                          : at::upsample_bilinear2d(value, target, align_corners, std::nullopt));
  });
}

}  // extern "C"
