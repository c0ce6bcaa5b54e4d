// Internal to CTorch: handle structs, conversions between C and ATen types, and
// `protect`, the one place where C++ exceptions become status codes.
#pragma once

#include "CTorch.h"

#ifdef CTORCH_LIBTORCH_PROBLEM
#error "libtorch 2.11.0 was not found where the package looked (LIBTORCH, else .deps/python/torch). Remedies: (1) run 'make setup', which installs torch==2.11.0 into .deps/; (2) or set LIBTORCH to the torch folder of a PyTorch 2.11.0 install, e.g. LIBTORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))'); then build again (swift package clean if the old path is cached)."
#endif

#include <ATen/ATen.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

struct ctorch_tensor_s {
  at::Tensor value;
};

struct ctorch_generator_s {
  at::Generator value;
};

namespace ctorch {

extern std::atomic<int64_t> live_tensors;

// Records the message (and, for out-of-memory, the bytes asked for) for this thread.
int32_t fail(int32_t status, const std::string &message);

// Failures raised inside autograd (a synchronised BatchNorm's backward) reach `protect` as
// plain exceptions; these phrases in their messages keep their status.
inline constexpr const char *peer_failed_phrase = "another rank's step failed";
inline constexpr const char *collective_failed_phrase = "a collective failed";

/// CTORCH_PEER_FAILED or CTORCH_COLLECTIVE_FAILED when the message carries its phrase.
inline int32_t status_of_message(const std::string &message, int32_t otherwise) {
  if (message.find(peer_failed_phrase) != std::string::npos) return CTORCH_PEER_FAILED;
  if (message.find(collective_failed_phrase) != std::string::npos) return CTORCH_COLLECTIVE_FAILED;
  return otherwise;
}
int32_t fail_out_of_memory(const std::string &message);
bool is_out_of_memory_message(const std::string &message);

/// Runs `body`, turning every exception into a status and a thread-local message.
template <typename Body> int32_t protect(Body &&body) noexcept {
  try {
    body();
    return CTORCH_OK;
  } catch (const c10::OutOfMemoryError &e) {
    return fail_out_of_memory(e.what_without_backtrace());
  } catch (const c10::IndexError &e) {
    return fail(CTORCH_INVALID_ARGUMENT, e.what_without_backtrace());
  } catch (const c10::ValueError &e) {
    return fail(CTORCH_INVALID_ARGUMENT, e.what_without_backtrace());
  } catch (const c10::TypeError &e) {
    return fail(CTORCH_INVALID_ARGUMENT, e.what_without_backtrace());
  } catch (const c10::NotImplementedError &e) {
    return fail(CTORCH_NOT_IMPLEMENTED, e.what_without_backtrace());
  } catch (const c10::Error &e) {
    // libtorch's CPU allocator reports exhaustion as a plain enforce failure
    // ("DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes").
    std::string message = e.what_without_backtrace();
    if (is_out_of_memory_message(message)) return fail_out_of_memory(message);
    return fail(status_of_message(message, CTORCH_ERROR), message);
  } catch (const std::bad_alloc &e) {
    return fail_out_of_memory(std::string("host allocation failed: ") + e.what());
  } catch (const std::invalid_argument &e) {
    return fail(CTORCH_INVALID_ARGUMENT, e.what());
  } catch (const std::exception &e) {
    // oneDNN's own errors (dnnl::error) arrive here, not as c10::Error.
    if (is_out_of_memory_message(e.what())) return fail_out_of_memory(e.what());
    return fail(status_of_message(e.what(), CTORCH_ERROR), e.what());
  } catch (...) {
    return fail(CTORCH_ERROR, "unknown C++ exception in libtorch");
  }
}

/// Hands a tensor to the caller as a new handle.
inline ctorch_tensor wrap(at::Tensor tensor) {
  auto *handle = new ctorch_tensor_s{std::move(tensor)};
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return handle;
}

inline const at::Tensor &unwrap(ctorch_tensor handle) {
  if (handle == nullptr) throw std::invalid_argument("tensor handle is NULL");
  return handle->value;
}

/// An optional tensor argument: NULL means "none".
inline std::optional<at::Tensor> unwrap_optional(ctorch_tensor handle) {
  if (handle == nullptr) return std::nullopt;
  return handle->value;
}

inline void require_out(const void *out) {
  if (out == nullptr) throw std::invalid_argument("output pointer is NULL");
}

/// A malloc'd copy for the caller to release with ctorch_string_free.
char *copy_string(const std::string &value);

at::ScalarType scalar_type(int32_t dtype);
int32_t dtype_code(at::ScalarType type);
c10::Device device(ctorch_device device);
c10::MemoryFormat memory_format(int32_t format);

inline at::IntArrayRef int_array(const int64_t *values, size_t count) {
  if (values == nullptr && count > 0) throw std::invalid_argument("array pointer is NULL");
  return at::IntArrayRef(values, count);
}

inline std::optional<at::Generator> generator(ctorch_generator handle) {
  if (handle == nullptr) return std::nullopt;
  return handle->value;
}

// Python-number semantics for a scalar operand: it takes part in type promotion
// as a "wrapped number", so int tensor * 2 stays int and int tensor * 0.5 is float.
at::Tensor wrapped_scalar(double value, bool integral);

}  // namespace ctorch
