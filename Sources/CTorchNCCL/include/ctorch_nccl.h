// The NCCL plugin's entry points, looked up by the shim with dlsym (see nccl_backend.cpp).
#ifndef CTORCH_NCCL_H
#define CTORCH_NCCL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A ProcessGroupNCCL for `rank` of `size` over `store` (a const c10::intrusive_ptr<c10d::Store> *),
 *  bound to cuda:`device_index`. On success *backend is a new c10::intrusive_ptr<c10d::Backend> *
 *  (the caller deletes it) and 0 is returned; otherwise 1, with the reason in `error`. */
int32_t ctorch_nccl_create_backend(const void *store, int32_t rank, int32_t size, int64_t timeout_ms,
                                   int32_t device_index, void **backend, char *error, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
