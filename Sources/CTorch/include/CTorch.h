/* CTorch: the C ABI over libtorch that the Swift `Torch` module wraps.
 *
 * Rules every function follows:
 *  - returns an int32_t status (CTORCH_OK or an error code) and writes results through
 *    out-parameters; a result handle is written only on success;
 *  - never lets a C++ exception escape: the message is kept per thread, read it with
 *    ctorch_last_error(); out-of-memory has its own status;
 *  - handles are opaque; every handle a function returns is owned by the caller and
 *    released with its matching _free function.
 * Pure C: no torch header and no C++ type appears here.
 */
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status, errors, handles ------------------------------------------------------- */

typedef enum {
  CTORCH_OK = 0,
  CTORCH_ERROR = 1,             /* any libtorch error not covered below */
  CTORCH_OUT_OF_MEMORY = 2,     /* an allocation failed; see ctorch_last_error_requested_bytes */
  CTORCH_INVALID_ARGUMENT = 3,  /* bad index, value or type (c10::IndexError, ValueError, TypeError) */
  CTORCH_NOT_IMPLEMENTED = 4,   /* no kernel for this dtype/device (c10::NotImplementedError) */
  CTORCH_UNAVAILABLE = 5,       /* a runtime feature is missing (e.g. CUDA on this machine) */
  CTORCH_COLLECTIVE_FAILED = 6, /* rendezvous or collective failed: a peer died or is unreachable, timeout, port taken */
  CTORCH_PEER_FAILED = 7        /* another rank's step failed: this one drops the attempt with it (synchronised BatchNorm) */
} ctorch_status;

typedef struct ctorch_tensor_s *ctorch_tensor;
typedef struct ctorch_generator_s *ctorch_generator;

typedef enum {
  CTORCH_FLOAT32 = 0, CTORCH_FLOAT64 = 1, CTORCH_FLOAT16 = 2, CTORCH_BFLOAT16 = 3,
  CTORCH_INT64 = 4, CTORCH_INT32 = 5, CTORCH_UINT8 = 6, CTORCH_BOOL = 7,
  CTORCH_INT16 = 8, CTORCH_INT8 = 9
} ctorch_dtype;

typedef enum { CTORCH_DEVICE_CPU = 0, CTORCH_DEVICE_CUDA = 1 } ctorch_device_type;

typedef struct {
  int32_t type;   /* ctorch_device_type */
  int32_t index;  /* -1 for "the current device" */
} ctorch_device;

typedef enum {
  CTORCH_CONTIGUOUS = 0, CTORCH_CHANNELS_LAST = 1, CTORCH_PRESERVE_FORMAT = 2
} ctorch_memory_format;

/** The message of this thread's last failed call ("" if none); valid until the next failing call. */
const char *ctorch_last_error(void);
/** Bytes the last failed allocation on this thread asked for, or -1 when libtorch did not say. */
int64_t ctorch_last_error_requested_bytes(void);
/** Number of tensor handles alive in the process (for leak tests). */
int64_t ctorch_live_tensor_count(void);
/** Frees a string returned by this library. */
void ctorch_string_free(char *string);

/* ---- runtime ----------------------------------------------------------------------- */

/** The libtorch version this shim was compiled against, e.g. "2.11.0" (static storage). */
const char *ctorch_compiled_version(void);
/** libtorch's build configuration as at::show_config() prints it (caller frees). */
int32_t ctorch_runtime_config(char **out);
/** Path of the loaded libtorch_cpu.so (caller frees). */
int32_t ctorch_library_path(char **out);
/** Sets the number of intra-op threads. */
int32_t ctorch_set_num_threads(int32_t count);
/** Reads the number of intra-op threads. */
int32_t ctorch_num_threads(int32_t *out);
/** Limits the OpenMP threads of ops called from this thread only (loader threads: 1, to not oversubscribe). */
int32_t ctorch_set_thread_local_num_threads(int32_t count);
/** Keeps freed host memory in the process (glibc's mmap and trim thresholds) instead of returning
 *  it to the kernel after every step: fewer page faults, the same peak. */
int32_t ctorch_retain_freed_host_memory(void);
/** Seeds libtorch's default generators (CPU and, when loaded, CUDA). */
int32_t ctorch_manual_seed(uint64_t seed);
/** Enables or disables gradient recording on this thread; writes the previous setting. */
int32_t ctorch_set_grad_enabled(bool enabled, bool *previous);
int32_t ctorch_is_grad_enabled(bool *enabled);
/** Turns autocast for a device type on (to `dtype`) or off on this thread; writes the previous state. */
int32_t ctorch_autocast_set(int32_t device_type, bool enabled, int32_t dtype, bool *was_enabled, int32_t *previous_dtype);
/** Loads libtorch_cuda.so from beside libtorch_cpu.so once; CTORCH_UNAVAILABLE with the reason if it cannot. */
int32_t ctorch_cuda_load(void);
/** Number of CUDA devices (0 when CUDA is not loaded or there is none). */
int32_t ctorch_cuda_device_count(int32_t *out);
/** Free and total memory of a CUDA device in bytes. */
int32_t ctorch_cuda_memory_info(int32_t device, int64_t *free_bytes, int64_t *total_bytes);

/* ---- activation checkpointing ------------------------------------------------------ */

/** A segment of a network run by the caller: reads `inputs` (handles owned by the callee), writes a
 *  new handle to `*output`; on failure returns a status after ctorch_set_last_error. */
typedef int32_t (*ctorch_segment_fn)(void *context, const ctorch_tensor *inputs, size_t count, ctorch_tensor *output);
/** Releases a segment's context once the autograd graph no longer needs it. */
typedef void (*ctorch_release_fn)(void *context);

/** Runs `run(context, inputs)` without keeping its activations; backward runs it again with
 *  gradients (on detached copies of `inputs`) and differentiates `inputs` and `parameters`, the
 *  leaf tensors the segment uses. The context is owned from the call on (released on failure too). */
int32_t ctorch_checkpoint(ctorch_segment_fn run, void *context, ctorch_release_fn release, const ctorch_tensor *inputs,
                          size_t input_count, const ctorch_tensor *parameters, size_t parameter_count, ctorch_tensor *out);
/** Whether this thread is re-running a checkpointed segment inside backward (BatchNorm must
 *  not update its running statistics a second time). */
bool ctorch_checkpoint_is_recomputing(void);
/** Records an error for this thread, as a failing call would (for callbacks into the caller). */
void ctorch_set_last_error(int32_t status, const char *message);

/* ---- memory ------------------------------------------------------------------------ */

typedef struct {
  int64_t live_bytes;          /* held by tensors now (CUDA: allocated by the caching allocator) */
  int64_t peak_bytes;          /* most held at once since the last reset */
  int64_t reserved_bytes;      /* held by the caching allocator: live plus cached, freed blocks kept for reuse */
  int64_t budget_bytes;        /* the enforced budget, 0 when none */
  int64_t allocations;         /* CPU: allocations made; CUDA: allocations live */
  int64_t failed_allocations;  /* refused over the budget (CPU) or out-of-memory errors (CUDA) */
  int64_t allocation_retries;  /* CUDA: allocations that needed the cache flushed first (thrashing) */
} ctorch_memory_stats;

/** Memory statistics of a device (on the CPU, of the counting allocator installed at load). */
int32_t ctorch_memory_read(ctorch_device device, ctorch_memory_stats *out);
/** Restarts peak tracking from the current use. */
int32_t ctorch_memory_reset_peak(ctorch_device device);
/** Limits a device's memory to `bytes` (0 removes the limit); past it allocations fail with OOM. */
int32_t ctorch_memory_set_budget(ctorch_device device, int64_t bytes);
/** Returns cached, unused memory to the driver (CUDA) or the system (CPU). */
int32_t ctorch_memory_empty_cache(ctorch_device device);

/* ---- generators -------------------------------------------------------------------- */

/** A CPU random generator seeded with `seed`. */
int32_t ctorch_generator_new(uint64_t seed, ctorch_generator *out);
/** Releases a generator. */
void ctorch_generator_free(ctorch_generator generator);

/* ---- tensor lifetime and properties ------------------------------------------------ */

/** Releases a tensor handle (NULL is ignored). */
void ctorch_tensor_free(ctorch_tensor tensor);
/** A new handle to the same tensor (shares storage and autograd identity). */
int32_t ctorch_tensor_retain(ctorch_tensor tensor, ctorch_tensor *out);
/** Number of dimensions. */
int32_t ctorch_tensor_dim(ctorch_tensor tensor, int64_t *out);
/** Sizes into `out`, which holds at least ctorch_tensor_dim entries. */
int32_t ctorch_tensor_sizes(ctorch_tensor tensor, int64_t *out);
/** Strides into `out`, which holds at least ctorch_tensor_dim entries. */
int32_t ctorch_tensor_strides(ctorch_tensor tensor, int64_t *out);
/** Element type. */
int32_t ctorch_tensor_dtype(ctorch_tensor tensor, int32_t *out);
/** Device the tensor lives on. */
int32_t ctorch_tensor_device(ctorch_tensor tensor, ctorch_device *out);
/** Whether the tensor is contiguous in the given memory format. */
int32_t ctorch_tensor_is_contiguous(ctorch_tensor tensor, int32_t format, bool *out);
/** The address of the first element of a CPU tensor (for filling or reading in place). */
int32_t ctorch_tensor_data_ptr(ctorch_tensor tensor, void **out);
/** A readable rendering of the tensor, as PyTorch prints it (caller frees). */
int32_t ctorch_tensor_description(ctorch_tensor tensor, char **out);

/* ---- creation ---------------------------------------------------------------------- */

/** A tensor copied from `nbytes` of row-major host data. */
int32_t ctorch_tensor_from_data(const void *data, size_t nbytes, const int64_t *shape, size_t ndim,
                                int32_t dtype, ctorch_tensor *out);
/** A CPU tensor over caller memory without copying; `deleter(context)` runs when libtorch lets go. */
int32_t ctorch_tensor_from_blob(void *data, const int64_t *shape, size_t ndim, int32_t dtype,
                                void (*deleter)(void *context), void *context, ctorch_tensor *out);
/** Zeros with another tensor's shape, dtype, device and memory layout (at::zeros_like). */
int32_t ctorch_zeros_like(ctorch_tensor tensor, ctorch_tensor *out);
/** An uninitialised tensor. */
int32_t ctorch_empty(const int64_t *shape, size_t ndim, int32_t dtype, ctorch_device device,
                     ctorch_tensor *out);
/** A tensor filled with `value` (zeros and ones are this with 0 and 1). */
int32_t ctorch_full(const int64_t *shape, size_t ndim, double value, int32_t dtype,
                    ctorch_device device, ctorch_tensor *out);
/** Values from `start` to `end` (exclusive) by `step`. */
int32_t ctorch_arange(double start, double end, double step, int32_t dtype, ctorch_device device,
                      ctorch_tensor *out);
/** Standard normal samples; `generator` may be NULL for the default generator. */
int32_t ctorch_randn(const int64_t *shape, size_t ndim, int32_t dtype, ctorch_device device,
                     ctorch_generator generator, ctorch_tensor *out);
/** Uniform samples in [0, 1); `generator` may be NULL. */
int32_t ctorch_rand(const int64_t *shape, size_t ndim, int32_t dtype, ctorch_device device,
                    ctorch_generator generator, ctorch_tensor *out);

/* ---- conversion and reading back --------------------------------------------------- */

/** Converts dtype and/or device (dtype -1 keeps it); returns the same tensor when nothing changes. */
int32_t ctorch_tensor_to(ctorch_tensor tensor, int32_t dtype, ctorch_device device,
                         bool non_blocking, ctorch_tensor *out);
/** The tensor laid out contiguously in `format`. */
int32_t ctorch_tensor_contiguous(ctorch_tensor tensor, int32_t format, ctorch_tensor *out);
/** Copies the elements, row-major, into `nbytes` of host memory (must equal numel * element size). */
int32_t ctorch_tensor_copy_to_host(ctorch_tensor tensor, void *data, size_t nbytes);
/** The single element as a double. */
int32_t ctorch_tensor_item_double(ctorch_tensor tensor, double *out);
/** The single element as an int64. */
int32_t ctorch_tensor_item_int64(ctorch_tensor tensor, int64_t *out);
/** A deep copy. */
int32_t ctorch_tensor_clone(ctorch_tensor tensor, ctorch_tensor *out);
/** Copies `source` into `destination` in place (broadcasting, converting dtype and device). */
int32_t ctorch_tensor_copy_(ctorch_tensor destination, ctorch_tensor source);
/** Fills in place with `value`. */
int32_t ctorch_tensor_fill_(ctorch_tensor tensor, double value);
/** Fills in place with normal samples of the given mean and std; `generator` may be NULL. */
int32_t ctorch_tensor_normal_(ctorch_tensor tensor, double mean, double std, ctorch_generator generator);
/** Fills in place with uniform samples in [low, high); `generator` may be NULL. */
int32_t ctorch_tensor_uniform_(ctorch_tensor tensor, double low, double high, ctorch_generator generator);

/* ---- elementwise ------------------------------------------------------------------- */

typedef enum {
  CTORCH_ADD = 0, CTORCH_SUB = 1, CTORCH_MUL = 2, CTORCH_DIV = 3, CTORCH_POW = 4,
  CTORCH_MAXIMUM = 5, CTORCH_MINIMUM = 6,
  CTORCH_EQ = 7, CTORCH_NE = 8, CTORCH_LT = 9, CTORCH_LE = 10, CTORCH_GT = 11, CTORCH_GE = 12,
  CTORCH_LOGICAL_AND = 13, CTORCH_LOGICAL_OR = 14
} ctorch_binary_op;

typedef enum {
  CTORCH_NEG = 0, CTORCH_ABS = 1, CTORCH_EXP = 2, CTORCH_LOG = 3, CTORCH_SQRT = 4,
  CTORCH_RSQRT = 5, CTORCH_RELU = 6, CTORCH_SIGMOID = 7, CTORCH_TANH = 8, CTORCH_SQUARE = 9,
  CTORCH_SIGN = 10, CTORCH_FLOOR = 11, CTORCH_CEIL = 12, CTORCH_ROUND = 13,
  CTORCH_LOGICAL_NOT = 14, CTORCH_ISFINITE = 15, CTORCH_RECIPROCAL = 16
} ctorch_unary_op;

/** a (op) b with broadcasting and PyTorch's type promotion. */
int32_t ctorch_binary(int32_t op, ctorch_tensor a, ctorch_tensor b, ctorch_tensor *out);
/** a (op) scalar; an integral scalar is passed as an integer so integer tensors stay integer. */
int32_t ctorch_binary_scalar(int32_t op, ctorch_tensor a, double scalar, bool integral, ctorch_tensor *out);
/** a = a (op) b in place (arithmetic ops only). */
int32_t ctorch_binary_(int32_t op, ctorch_tensor a, ctorch_tensor b);
/** a = a (op) scalar in place (arithmetic ops only). */
int32_t ctorch_binary_scalar_(int32_t op, ctorch_tensor a, double scalar, bool integral);
/** op(a). */
int32_t ctorch_unary(int32_t op, ctorch_tensor a, ctorch_tensor *out);
/** a = op(a) in place. */
int32_t ctorch_unary_(int32_t op, ctorch_tensor a);
/** a += alpha * b in place (the axpy of every optimiser). */
int32_t ctorch_add_scaled_(ctorch_tensor a, ctorch_tensor b, double alpha);
/** a += value * b * c in place. */
int32_t ctorch_addcmul_(ctorch_tensor a, ctorch_tensor b, ctorch_tensor c, double value);
/** a += value * b / c in place. */
int32_t ctorch_addcdiv_(ctorch_tensor a, ctorch_tensor b, ctorch_tensor c, double value);
/** SGD's update for many parameters, one fused pass each (torch.optim.SGD(fused=True)); the
 *  momentum buffers (none when momentum is 0) start as the first step's direction when is_first_step. */
int32_t ctorch_fused_sgd_(const ctorch_tensor *parameters, const ctorch_tensor *gradients,
                          const ctorch_tensor *momentum_buffers, size_t count, double weight_decay, double momentum,
                          double learning_rate, double dampening, bool nesterov, bool is_first_step);
/** Adam's (AdamW's, with `decoupled_weight_decay`) update for many parameters in one fused pass
 *  each; `steps` are float scalars already counting this step, as torch.optim.Adam(fused=True) keeps them. */
int32_t ctorch_fused_adam_(const ctorch_tensor *parameters, const ctorch_tensor *gradients, const ctorch_tensor *averages,
                           const ctorch_tensor *squared_averages, const ctorch_tensor *steps, size_t count,
                           double learning_rate, double beta1, double beta2, double weight_decay, double eps,
                           bool decoupled_weight_decay);
/** Clamps into [min, max]; a bound is ignored when its has_ flag is false. */
int32_t ctorch_clamp(ctorch_tensor a, double min, bool has_min, double max, bool has_max, ctorch_tensor *out);
/** condition ? a : b elementwise. */
int32_t ctorch_where(ctorch_tensor condition, ctorch_tensor a, ctorch_tensor b, ctorch_tensor *out);

/* ---- reductions -------------------------------------------------------------------- */

typedef enum { CTORCH_SUM = 0, CTORCH_MEAN = 1, CTORCH_AMAX = 2, CTORCH_AMIN = 3 } ctorch_reduce_op;

/** Reduces over `dims` (all dimensions when ndims is 0). */
int32_t ctorch_reduce(int32_t op, ctorch_tensor a, const int64_t *dims, size_t ndims, bool keepdim,
                      ctorch_tensor *out);
/** Index of the largest value along `dim`. */
int32_t ctorch_argmax(ctorch_tensor a, int64_t dim, bool keepdim, ctorch_tensor *out);
/** The k largest (or smallest) values along `dim` and their indices. */
int32_t ctorch_topk(ctorch_tensor a, int64_t k, int64_t dim, bool largest, bool sorted,
                    ctorch_tensor *values, ctorch_tensor *indices);
/** Counts of each value of a 1-D int64 tensor of non-negative values, at least `minlength` bins. */
int32_t ctorch_bincount(ctorch_tensor a, int64_t minlength, ctorch_tensor *out);
/** Softmax along `dim`. */
int32_t ctorch_softmax(ctorch_tensor a, int64_t dim, ctorch_tensor *out);
/** Log-softmax along `dim`. */
int32_t ctorch_log_softmax(ctorch_tensor a, int64_t dim, ctorch_tensor *out);

/* ---- shape and indexing ------------------------------------------------------------ */

/** The same elements with a new shape (a view when possible); one size may be -1. */
int32_t ctorch_reshape(ctorch_tensor a, const int64_t *shape, size_t ndim, ctorch_tensor *out);
/** Dimensions reordered. */
int32_t ctorch_permute(ctorch_tensor a, const int64_t *dims, size_t ndim, ctorch_tensor *out);
/** Dimensions start_dim...end_dim merged into one. */
int32_t ctorch_flatten(ctorch_tensor a, int64_t start_dim, int64_t end_dim, ctorch_tensor *out);
/** A size-1 dimension inserted at `dim`. */
int32_t ctorch_unsqueeze(ctorch_tensor a, int64_t dim, ctorch_tensor *out);
/** Tensors joined along an existing dimension. */
int32_t ctorch_cat(const ctorch_tensor *tensors, size_t count, int64_t dim, ctorch_tensor *out);
/** Tensors joined along a new dimension. */
int32_t ctorch_stack(const ctorch_tensor *tensors, size_t count, int64_t dim, ctorch_tensor *out);
/** A strided view a[start:end:step] along `dim`. */
int32_t ctorch_slice(ctorch_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step,
                     ctorch_tensor *out);
/** The entries at `index` along `dim`, dimension removed. */
int32_t ctorch_select(ctorch_tensor a, int64_t dim, int64_t index, ctorch_tensor *out);
/** The entries listed in the int64 tensor `index` along `dim`. */
int32_t ctorch_index_select(ctorch_tensor a, int64_t dim, ctorch_tensor index, ctorch_tensor *out);
/** The tensor reversed along `dims`. */
int32_t ctorch_flip(ctorch_tensor a, const int64_t *dims, size_t ndims, ctorch_tensor *out);

/* ---- neural-network ops ------------------------------------------------------------ */

/** 2-D convolution; `bias` may be NULL; stride, padding and dilation are (height, width). */
int32_t ctorch_conv2d(ctorch_tensor input, ctorch_tensor weight, ctorch_tensor bias,
                      const int64_t *stride, const int64_t *padding, const int64_t *dilation,
                      int64_t groups, ctorch_tensor *out);
/** Batch normalisation; in training mode the running statistics (if given) are updated in place. */
int32_t ctorch_batch_norm(ctorch_tensor input, ctorch_tensor weight, ctorch_tensor bias,
                          ctorch_tensor running_mean, ctorch_tensor running_var, bool training,
                          double momentum, double eps, ctorch_tensor *out);
/** 2-D max pooling; kernel, stride, padding and dilation are (height, width). */
int32_t ctorch_max_pool2d(ctorch_tensor input, const int64_t *kernel, const int64_t *stride,
                          const int64_t *padding, const int64_t *dilation, bool ceil_mode,
                          ctorch_tensor *out);
/** Adaptive average pooling to (height, width). */
int32_t ctorch_adaptive_avg_pool2d(ctorch_tensor input, const int64_t *output_size, ctorch_tensor *out);
/** input · weightᵀ + bias; `bias` may be NULL. */
int32_t ctorch_linear(ctorch_tensor input, ctorch_tensor weight, ctorch_tensor bias, ctorch_tensor *out);
/** Matrix product with broadcasting. */
int32_t ctorch_matmul(ctorch_tensor a, ctorch_tensor b, ctorch_tensor *out);

typedef enum { CTORCH_REDUCTION_NONE = 0, CTORCH_REDUCTION_MEAN = 1, CTORCH_REDUCTION_SUM = 2 } ctorch_reduction;

/** Cross-entropy of logits against class indices, with label smoothing; `weight` may be NULL. */
int32_t ctorch_cross_entropy(ctorch_tensor logits, ctorch_tensor target, ctorch_tensor weight,
                             int32_t reduction, int64_t ignore_index, double label_smoothing,
                             ctorch_tensor *out);
/** Bilinear resize of an NCHW tensor (float or uint8) to (height, width); `antialias` as torchvision. */
int32_t ctorch_interpolate_bilinear(ctorch_tensor input, const int64_t *size, bool align_corners,
                                    bool antialias, ctorch_tensor *out);

/* ---- autograd ---------------------------------------------------------------------- */

/** Whether gradients are recorded for the tensor. */
int32_t ctorch_tensor_requires_grad(ctorch_tensor tensor, bool *out);
/** Marks the tensor (a leaf) as needing a gradient. */
int32_t ctorch_tensor_set_requires_grad(ctorch_tensor tensor, bool requires_grad);
/** Back-propagates from the tensor; `gradient` may be NULL for a scalar. */
int32_t ctorch_tensor_backward(ctorch_tensor tensor, ctorch_tensor gradient, bool retain_graph);
/** The accumulated gradient; *out is NULL when there is none. */
int32_t ctorch_tensor_grad(ctorch_tensor tensor, ctorch_tensor *out);
/** Replaces the accumulated gradient; NULL removes it (the set_to_none of zero_grad). */
int32_t ctorch_tensor_set_grad(ctorch_tensor tensor, ctorch_tensor gradient);
/** Points `tensor` at `source`'s data (PyTorch's `param.data = source`): identity and grad flag stay. */
int32_t ctorch_tensor_set_data(ctorch_tensor tensor, ctorch_tensor source);
/** The same data cut off from the autograd graph. */
int32_t ctorch_tensor_detach(ctorch_tensor tensor, ctorch_tensor *out);

/* ---- distributed (c10d: TCPStore rendezvous, Gloo and NCCL collectives) ------------ */

typedef struct ctorch_store_s *ctorch_store;
typedef struct ctorch_process_group_s *ctorch_process_group;

typedef enum { CTORCH_COLLECTIVE_SUM = 0, CTORCH_COLLECTIVE_AVERAGE = 1 } ctorch_collective_op;

/** A TCPStore at host:port: the server (which waits up to `timeout_ms` for `world_size`
 *  clients, itself included) or a client (which retries connecting until `timeout_ms`).
 *  A non-empty `prefix` namespaces the keys (torchrun's agent store: "/worker/attempt_N"). */
int32_t ctorch_store_create(const char *host, uint16_t port, bool is_server, int32_t world_size, int64_t timeout_ms,
                            const char *prefix, ctorch_store *out);
/** After a failed collective, which ranks are still there: this rank writes its mark under
 *  `key`, then waits up to `wait_ms` for every other rank's; `answered[r]` is 1 for each rank
 *  whose mark arrived. CTORCH_COLLECTIVE_FAILED when the store itself cannot be reached. */
int32_t ctorch_store_roll_call(ctorch_store store, const char *key, int32_t rank, int32_t size, int64_t wait_ms,
                               uint8_t *answered);
/** Releases a store (the server stops serving). */
void ctorch_store_free(ctorch_store store);
/** A Gloo process group over the store; every collective fails after `timeout_ms`.
 *  `bind_host` is the rendezvous host: a loopback one binds Gloo to 127.0.0.1. */
int32_t ctorch_process_group_create_gloo(ctorch_store store, int32_t rank, int32_t size, int64_t timeout_ms,
                                         const char *bind_host, ctorch_process_group *out);
/** A second group of the same ranks over the same store (its keys under `prefix`): its
 *  collectives never interleave with the first one's. */
int32_t ctorch_process_group_create_sibling(ctorch_store store, ctorch_process_group like, const char *prefix,
                                            ctorch_process_group *out);
/** From now on the group's collectives on CUDA tensors are NCCL's, bound to cuda:`device_index`
 *  (CPU tensors stay with Gloo; siblings created later get NCCL too). Every rank must call it.
 *  Loads libtorch_cuda and the NCCL plugin (libHeadroomNCCL.so beside the binary, or
 *  HEADROOM_NCCL_PLUGIN); CTORCH_INVALID_ARGUMENT says why when either cannot be loaded. */
int32_t ctorch_process_group_use_nccl(ctorch_process_group group, int32_t device_index);
/** Loads libtorch_cuda and the NCCL plugin (once); CTORCH_UNAVAILABLE says why they cannot be. */
int32_t ctorch_nccl_load(void);
/** Releases a process group (one that failed a collective is abandoned, not joined). */
void ctorch_process_group_free(ctorch_process_group group);
/** This process's rank and the world size. */
int32_t ctorch_process_group_rank(ctorch_process_group group, int32_t *rank, int32_t *size);
/** Sums (or averages) the tensors over all ranks in place, as one flat bucket per dtype.
 *  `bucket` (may be NULL) is a persistent 1-D tensor to flatten into when all tensors share
 *  its dtype and device, so that nothing is allocated; otherwise buckets are allocated, all
 *  before the first collective. */
int32_t ctorch_process_group_all_reduce(ctorch_process_group group, const ctorch_tensor *tensors, size_t count,
                                        int32_t op, ctorch_tensor bucket);
/** Overwrites the tensors with rank `root`'s, as one flat bucket per dtype. */
int32_t ctorch_process_group_broadcast(ctorch_process_group group, const ctorch_tensor *tensors, size_t count,
                                       int32_t root);
/** Every rank's `count` values, rank by rank, into `out` (count * world size entries). */
int32_t ctorch_process_group_all_gather_int64(ctorch_process_group group, const int64_t *values, size_t count,
                                              int64_t *out);
/** Returns when every rank has called it (or fails after the timeout). */
int32_t ctorch_process_group_barrier(ctorch_process_group group);

/* ---- gradients all-reduced during backward ----------------------------------------- *
 * The parameters' gradients in buckets of about `bucket_bytes`, in reverse order of the
 * parameters (as PyTorch's DDP). Armed, the next backward's gradient accumulators launch a
 * bucket's all-reduce as soon as all its gradients are final, buckets strictly in order so
 * every rank launches the same sequence; finish launches the rest and waits for all. */

typedef struct ctorch_gradient_reducer_s *ctorch_gradient_reducer;

/** A reducer over `group` (its own: see ctorch_process_group_create_sibling) for `parameters`,
 *  whose flat buckets (allocated here) hold every gradient. */
int32_t ctorch_gradient_reducer_create(ctorch_process_group group, const ctorch_tensor *parameters, size_t count,
                                       int64_t bucket_bytes, ctorch_gradient_reducer *out);
void ctorch_gradient_reducer_free(ctorch_gradient_reducer reducer);
/** Zeroes the buckets and makes every parameter's gradient its place in them: backward then
 *  accumulates into the buckets and nothing is copied (PyTorch's gradient_as_bucket_view). */
int32_t ctorch_gradient_reducer_attach(ctorch_gradient_reducer reducer);
/** The next backward's final gradients launch the buckets. */
int32_t ctorch_gradient_reducer_arm(ctorch_gradient_reducer reducer);
/** Disarms without launching anything (only while nothing is launched). */
int32_t ctorch_gradient_reducer_disarm(ctorch_gradient_reducer reducer);
/** How many buckets this arming has launched, and how many there are. */
int32_t ctorch_gradient_reducer_progress(ctorch_gradient_reducer reducer, int64_t *launched, int64_t *buckets);
/** Launches every bucket not launched yet (with the gradients as they are), waits for all, and,
 *  with `keep`, writes the sums into the gradients; disarms. */
int32_t ctorch_gradient_reducer_finish(ctorch_gradient_reducer reducer, bool keep);

/* ---- synchronised BatchNorm (statistics over every rank's micro-batch) -------------- *
 * Every collective of it is one all-reduce of the same float64 payload: a header (failure
 * counts, a draining count, the BatchNorm's tag) and the per-channel data. A rank whose
 * micro-batch failed, or that has no samples in it, keeps answering the others' collectives
 * from ctorch_batch_norm_sync_meet until every rank meets there, so the ranks always run
 * the same number of collectives and see a failure at the same point. */

typedef struct ctorch_batch_norm_sync_s *ctorch_batch_norm_sync;

typedef enum { CTORCH_STEP_OK = 0, CTORCH_STEP_RECOVERABLE = 1, CTORCH_STEP_FATAL = 2 } ctorch_step_failure;

/** The synchronisation of a model whose widest BatchNorm has `channels` channels, over `group`
 *  (which must outlive it). */
int32_t ctorch_batch_norm_sync_create(ctorch_process_group group, int64_t channels, ctorch_batch_norm_sync *out);
void ctorch_batch_norm_sync_free(ctorch_batch_norm_sync sync);
/** The batch statistics of NCHW `input` over every rank's batch (one collective): mean and
 *  1/sqrt(var + eps) per channel (float64 for float64 input, float32 otherwise) and the
 *  total count. Updates the running statistics (may be NULL) with them, as BatchNorm does.
 *  CTORCH_PEER_FAILED when another rank reported a failure. */
int32_t ctorch_batch_norm_sync_statistics(ctorch_batch_norm_sync sync, int64_t tag, ctorch_tensor input,
                                          ctorch_tensor running_mean, ctorch_tensor running_var, double momentum,
                                          double eps, ctorch_tensor *mean, ctorch_tensor *invstd, int64_t *count);
/** (input - mean) * invstd * weight + bias, differentiable; its backward sums the gradient's
 *  statistics terms over the ranks (one collective, which can report CTORCH_PEER_FAILED). */
int32_t ctorch_batch_norm_sync_normalize(ctorch_batch_norm_sync sync, int64_t tag, ctorch_tensor input,
                                         ctorch_tensor weight, ctorch_tensor bias, ctorch_tensor mean,
                                         ctorch_tensor invstd, int64_t count, ctorch_tensor *out);
/** The end of a micro-batch: reports this rank's `failure` (ctorch_step_failure) and answers
 *  the others' collectives until every rank is here. Writes the largest failure any rank
 *  reported and, for a fatal one, that rank (-1 when several). */
int32_t ctorch_batch_norm_sync_meet(ctorch_batch_norm_sync sync, int32_t failure, int32_t *worst, int32_t *failed_rank);
/** How many collectives this synchronisation has run (for tests). */
int64_t ctorch_batch_norm_sync_collectives(ctorch_batch_norm_sync sync);

#ifdef __cplusplus
}
#endif

#endif /* CTORCH_H */
