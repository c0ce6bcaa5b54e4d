// Tensor handles: lifetime, properties, creation, conversion, reading back, autograd state.
#include "shim.hpp"

#include <cstring>
#include <sstream>

using namespace ctorch;

namespace {

at::TensorOptions options(int32_t dtype, ctorch_device where) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(where));
}


void check_byte_count(size_t given, const at::Tensor &tensor) {
  size_t expected = static_cast<size_t>(tensor.numel()) * tensor.element_size();
  if (given != expected)
    throw std::invalid_argument("buffer holds " + std::to_string(given) + " bytes but the tensor needs " +
                                std::to_string(expected));
}

}  // namespace

extern "C" {

void ctorch_tensor_free(ctorch_tensor tensor) {
  if (tensor == nullptr) return;
  delete tensor;
  live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

int32_t ctorch_tensor_retain(ctorch_tensor tensor, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(unwrap(tensor));
  });
}

int32_t ctorch_tensor_dim(ctorch_tensor tensor, int64_t *out) {
  return protect([&] {
    require_out(out);
    *out = unwrap(tensor).dim();
  });
}

int32_t ctorch_tensor_sizes(ctorch_tensor tensor, int64_t *out) {
  return protect([&] {
    const auto &value = unwrap(tensor);
    if (value.dim() > 0) require_out(out);
    for (int64_t i = 0; i < value.dim(); ++i) out[i] = value.size(i);
  });
}

int32_t ctorch_tensor_strides(ctorch_tensor tensor, int64_t *out) {
  return protect([&] {
    const auto &value = unwrap(tensor);
    if (value.dim() > 0) require_out(out);
    for (int64_t i = 0; i < value.dim(); ++i) out[i] = value.stride(i);
  });
}

int32_t ctorch_tensor_dtype(ctorch_tensor tensor, int32_t *out) {
  return protect([&] {
    require_out(out);
    *out = dtype_code(unwrap(tensor).scalar_type());
  });
}

int32_t ctorch_tensor_device(ctorch_tensor tensor, ctorch_device *out) {
  return protect([&] {
    require_out(out);
    auto where = unwrap(tensor).device();
    if (where.is_cpu()) *out = {CTORCH_DEVICE_CPU, -1};
    else if (where.is_cuda()) *out = {CTORCH_DEVICE_CUDA, where.index()};
    else throw std::invalid_argument("tensor lives on an unsupported device " + where.str());
  });
}

int32_t ctorch_tensor_is_contiguous(ctorch_tensor tensor, int32_t format, bool *out) {
  return protect([&] {
    require_out(out);
    *out = unwrap(tensor).is_contiguous(memory_format(format));
  });
}

int32_t ctorch_tensor_data_ptr(ctorch_tensor tensor, void **out) {
  return protect([&] {
    require_out(out);
    const auto &value = unwrap(tensor);
    if (!value.device().is_cpu()) throw std::invalid_argument("data_ptr needs a CPU tensor, not " + value.device().str());
    *out = value.data_ptr();
  });
}

int32_t ctorch_tensor_description(ctorch_tensor tensor, char **out) {
  return protect([&] {
    require_out(out);
    std::ostringstream stream;
    stream << unwrap(tensor);
    *out = copy_string(stream.str());
  });
}

int32_t ctorch_tensor_from_data(const void *data, size_t nbytes, const int64_t *shape, size_t ndim,
                                int32_t dtype, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    at::Tensor tensor = at::empty(int_array(shape, ndim), at::TensorOptions().dtype(scalar_type(dtype)));
    check_byte_count(nbytes, tensor);
    if (nbytes > 0) {
      if (data == nullptr) throw std::invalid_argument("data pointer is NULL");
      std::memcpy(tensor.data_ptr(), data, nbytes);
    }
    *out = wrap(std::move(tensor));
  });
}

int32_t ctorch_tensor_from_blob(void *data, const int64_t *shape, size_t ndim, int32_t dtype,
                                void (*deleter)(void *context), void *context, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    if (data == nullptr) throw std::invalid_argument("data pointer is NULL");
    auto release = [deleter, context](void *) {
      if (deleter != nullptr) deleter(context);
    };
    *out = wrap(at::from_blob(data, int_array(shape, ndim), release,
                              at::TensorOptions().dtype(scalar_type(dtype))));
  });
}

int32_t ctorch_zeros_like(ctorch_tensor tensor, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::zeros_like(unwrap(tensor)));
  });
}

int32_t ctorch_empty(const int64_t *shape, size_t ndim, int32_t dtype, ctorch_device device,
                     ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::empty(int_array(shape, ndim), options(dtype, device)));
  });
}

int32_t ctorch_full(const int64_t *shape, size_t ndim, double value, int32_t dtype, ctorch_device device,
                    ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::full(int_array(shape, ndim), value, options(dtype, device)));
  });
}

int32_t ctorch_arange(double start, double end, double step, int32_t dtype, ctorch_device device,
                      ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::arange(start, end, step, options(dtype, device)));
  });
}

int32_t ctorch_randn(const int64_t *shape, size_t ndim, int32_t dtype, ctorch_device device,
                     ctorch_generator gen, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::randn(int_array(shape, ndim), generator(gen), options(dtype, device)));
  });
}

int32_t ctorch_rand(const int64_t *shape, size_t ndim, int32_t dtype, ctorch_device device,
                    ctorch_generator gen, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(at::rand(int_array(shape, ndim), generator(gen), options(dtype, device)));
  });
}

int32_t ctorch_tensor_to(ctorch_tensor tensor, int32_t dtype, ctorch_device where, bool non_blocking,
                         ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    const auto &value = unwrap(tensor);
    auto type = dtype < 0 ? value.scalar_type() : scalar_type(dtype);
    *out = wrap(value.to(device(where), type, non_blocking));
  });
}

int32_t ctorch_tensor_contiguous(ctorch_tensor tensor, int32_t format, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(unwrap(tensor).contiguous(memory_format(format)));
  });
}

int32_t ctorch_tensor_copy_to_host(ctorch_tensor tensor, void *data, size_t nbytes) {
  return protect([&] {
    const auto &value = unwrap(tensor);
    check_byte_count(nbytes, value);
    if (nbytes == 0) return;
    if (data == nullptr) throw std::invalid_argument("data pointer is NULL");
    // Host synchronisation: the copy waits for pending device work.
    at::Tensor host = value.to(at::kCPU).contiguous();
    std::memcpy(data, host.data_ptr(), nbytes);
  });
}

int32_t ctorch_tensor_item_double(ctorch_tensor tensor, double *out) {
  return protect([&] {
    require_out(out);
    *out = unwrap(tensor).item<double>();
  });
}

int32_t ctorch_tensor_item_int64(ctorch_tensor tensor, int64_t *out) {
  return protect([&] {
    require_out(out);
    *out = unwrap(tensor).item<int64_t>();
  });
}

int32_t ctorch_tensor_clone(ctorch_tensor tensor, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(unwrap(tensor).clone());
  });
}

int32_t ctorch_tensor_copy_(ctorch_tensor destination, ctorch_tensor source) {
  return protect([&] { unwrap(destination).copy_(unwrap(source)); });
}

int32_t ctorch_tensor_fill_(ctorch_tensor tensor, double value) {
  return protect([&] { unwrap(tensor).fill_(value); });
}

int32_t ctorch_tensor_normal_(ctorch_tensor tensor, double mean, double std, ctorch_generator gen) {
  return protect([&] { unwrap(tensor).normal_(mean, std, generator(gen)); });
}

int32_t ctorch_tensor_uniform_(ctorch_tensor tensor, double low, double high, ctorch_generator gen) {
  return protect([&] { unwrap(tensor).uniform_(low, high, generator(gen)); });
}

int32_t ctorch_tensor_requires_grad(ctorch_tensor tensor, bool *out) {
  return protect([&] {
    require_out(out);
    *out = unwrap(tensor).requires_grad();
  });
}

int32_t ctorch_tensor_set_requires_grad(ctorch_tensor tensor, bool requires_grad) {
  return protect([&] { unwrap(tensor).set_requires_grad(requires_grad); });
}

int32_t ctorch_tensor_backward(ctorch_tensor tensor, ctorch_tensor gradient, bool retain_graph) {
  return protect([&] {
    auto grad = unwrap_optional(gradient);
    unwrap(tensor).backward(grad.value_or(at::Tensor()), retain_graph);
  });
}

int32_t ctorch_tensor_grad(ctorch_tensor tensor, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    const auto &grad = unwrap(tensor).grad();
    *out = grad.defined() ? wrap(grad) : nullptr;
  });
}

int32_t ctorch_tensor_set_grad(ctorch_tensor tensor, ctorch_tensor gradient) {
  return protect([&] {
    auto grad = unwrap_optional(gradient);
    unwrap(tensor).mutable_grad() = grad.value_or(at::Tensor());
  });
}

int32_t ctorch_tensor_set_data(ctorch_tensor tensor, ctorch_tensor source) {
  return protect([&] {
    auto target = unwrap(tensor);
    target.set_data(unwrap(source));
  });
}

int32_t ctorch_tensor_detach(ctorch_tensor tensor, ctorch_tensor *out) {
  return protect([&] {
    require_out(out);
    *out = wrap(unwrap(tensor).detach());
  });
}

}  // extern "C"
