// Activation checkpointing: a custom autograd function that runs a caller's segment
// without keeping its activations and runs it again, with gradients, during backward.
// libtorch's C++ API has none (torch.utils.checkpoint is Python), so this is our own,
// in the shape of PyTorch's reentrant checkpoint with its two known flaws fixed:
//  - the parameters are inputs of the node, so they get gradients even when the
//    segment's input does not require one (a frozen stem before a trained stage);
//  - computed inputs (BatchNorm statistics from earlier segments) are detached for the
//    recompute, so it never runs the caller's graph a second time;
//  - the recompute is flagged (ctorch_checkpoint_is_recomputing) so BatchNorm can use
//    batch statistics without updating its running ones a second time.
// The recompute sees the forward's random state and autocast settings.
#include "shim.hpp"

#include <ATen/autocast_mode.h>
#include <ATen/Context.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/autograd.h>

#include <mutex>

namespace ctorch {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

thread_local bool recomputing = false;

/// The caller's segment; releases the caller's context when the graph lets go of it.
struct Segment : torch::CustomClassHolder {
  ctorch_segment_fn run;
  void *context;
  ctorch_release_fn release;

  Segment(ctorch_segment_fn run, void *context, ctorch_release_fn release)
      : run(run), context(context), release(release) {}
  Segment(const Segment &) = delete;
  Segment &operator=(const Segment &) = delete;
  ~Segment() override {
    if (release != nullptr) release(context);
  }

  /// Calls the segment; a failure comes back as the exception protect() maps to the
  /// same status, so an out-of-memory during the recompute is still out-of-memory.
  at::Tensor operator()(const std::vector<at::Tensor> &inputs) const {
    std::vector<ctorch_tensor> handles;
    handles.reserve(inputs.size());
    for (const auto &input : inputs) handles.push_back(wrap(input));  // owned by the callee
    ctorch_tensor output = nullptr;
    const int32_t status = run(context, handles.data(), handles.size(), &output);
    if (status != CTORCH_OK) {
      const std::string message = ctorch_last_error();
      switch (status) {
        case CTORCH_OUT_OF_MEMORY: TORCH_CHECK_WITH(OutOfMemoryError, false, message);
        case CTORCH_INVALID_ARGUMENT: throw std::invalid_argument(message);
        case CTORCH_NOT_IMPLEMENTED: TORCH_CHECK_NOT_IMPLEMENTED(false, message);
        default: throw std::runtime_error(message);
      }
    }
    if (output == nullptr) throw std::runtime_error("a checkpointed segment returned no tensor");
    at::Tensor result = output->value;
    ctorch_tensor_free(output);
    return result;
  }
};

/// Autocast as the forward ran it, to run the recompute the same way.
struct AutocastState {
  c10::DeviceType device;
  bool enabled;
  at::ScalarType dtype;

  static AutocastState current(c10::DeviceType device) {
    return {device, at::autocast::is_autocast_enabled(device), at::autocast::get_autocast_dtype(device)};
  }
  void apply() const {
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
  }
};

/// The forward's autocast around a recompute, entered and left as torch.autocast is: with
/// nesting counted, so leaving the outermost clears the cast-weight cache. Without that, the
/// bf16 copies cast during a backward's recompute stayed cached, keyed by the address of tensors
/// (the segment's detached inputs) that are freed afterwards; the next autocast forward could
/// meet a new tensor at such an address and read the stale copy (NaN after the planner's probes).
struct AutocastScope {
  AutocastState previous;
  bool entered;
  explicit AutocastScope(const AutocastState &wanted)
      : previous(AutocastState::current(wanted.device)), entered(wanted.enabled && !previous.enabled) {
    wanted.apply();
    if (entered) at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    previous.apply();
    if (entered && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope &) = delete;
  AutocastScope &operator=(const AutocastScope &) = delete;
};

/// Sets a thread-local flag for a scope.
struct FlagScope {
  bool &flag;
  bool previous;
  FlagScope(bool &flag, bool value) : flag(flag), previous(flag) { flag = value; }
  ~FlagScope() { flag = previous; }
};

at::Generator default_generator(const at::Tensor &input) {
  return at::globalContext().defaultGenerator(input.device());
}

at::Tensor random_state(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_random_state(at::Generator generator, const at::Tensor &state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// Inputs may come out of other nodes: the recompute gets detached copies, so its gradient
// stops at them and the caller's graph carries it on. Parameters are leaves the segment
// uses directly (a non-leaf there would let the recompute run the caller's graph too).
struct Checkpoint : torch::autograd::Function<Checkpoint> {
  static variable_list forward(AutogradContext *ctx, c10::intrusive_ptr<Segment> segment, at::TensorList inputs,
                               at::TensorList parameters) {
    if (inputs.empty()) throw std::invalid_argument("a checkpointed segment needs at least one input");
    for (const auto &parameter : parameters) {
      if (parameter.grad_fn() != nullptr)
        throw std::invalid_argument("checkpoint parameters must be leaf tensors; pass computed tensors as inputs");
    }
    const auto device = inputs[0].device().type();
    const auto autocast = AutocastState::current(device);
    ctx->saved_data["segment"] = c10::IValue::make_capsule(segment);
    ctx->saved_data["rng"] = random_state(default_generator(inputs[0]));
    ctx->saved_data["autocast"] = c10::IValue(autocast.enabled);
    ctx->saved_data["autocast_dtype"] = c10::IValue(static_cast<int64_t>(autocast.dtype));
    ctx->saved_data["inputs"] = static_cast<int64_t>(inputs.size());
    c10::List<bool> needs_gradient;
    for (const auto &input : inputs) needs_gradient.push_back(input.requires_grad());
    ctx->saved_data["inputs_require_grad"] = needs_gradient;
    variable_list saved(inputs.begin(), inputs.end());
    saved.insert(saved.end(), parameters.begin(), parameters.end());
    ctx->save_for_backward(saved);
    return {(*segment)(inputs.vec())};
  }

  static variable_list backward(AutogradContext *ctx, variable_list output_gradients) {
    auto segment = c10::static_intrusive_pointer_cast<Segment>(ctx->saved_data["segment"].toCapsule());
    const variable_list saved = ctx->get_saved_variables();
    const auto input_count = static_cast<size_t>(ctx->saved_data["inputs"].toInt());
    const auto inputs_require_grad = ctx->saved_data["inputs_require_grad"].toBoolList();

    // What the recompute differentiates: the inputs and parameters that need a gradient.
    std::vector<at::Tensor> inputs;
    variable_list targets;
    std::vector<size_t> slots;  // index into `saved` of each target
    for (size_t i = 0; i < saved.size(); ++i) {
      const bool is_input = i < input_count;
      at::Tensor value = is_input ? saved[i].detach().requires_grad_(inputs_require_grad.get(i)) : saved[i];
      if (is_input) inputs.push_back(value);
      if (value.requires_grad()) {
        targets.push_back(value);
        slots.push_back(i);
      }
    }

    at::Tensor output;
    {
      // The forward's random state and autocast, restored around the recompute.
      auto generator = default_generator(inputs[0]);
      const at::Tensor rng_now = random_state(generator);
      const auto device = inputs[0].device().type();
      const AutocastState autocast_then{device, ctx->saved_data["autocast"].toBool(),
                                        static_cast<at::ScalarType>(ctx->saved_data["autocast_dtype"].toInt())};
      set_random_state(generator, ctx->saved_data["rng"].toTensor());
      try {
        AutocastScope autocast(autocast_then);
        FlagScope flag(recomputing, true);
        at::AutoGradMode grad(true);
        output = (*segment)(inputs);
      } catch (...) {
        set_random_state(generator, rng_now);
        throw;
      }
      set_random_state(generator, rng_now);
    }

    // One gradient per forward argument: the segment (none), then each saved tensor.
    variable_list gradients(1 + saved.size());
    if (targets.empty()) return gradients;
    auto computed = torch::autograd::grad({output}, targets, {output_gradients[0]}, /*retain_graph=*/false,
                                          /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t k = 0; k < slots.size(); ++k) gradients[1 + slots[k]] = computed[k];
    return gradients;
  }
};

}  // namespace
}  // namespace ctorch

using namespace ctorch;

extern "C" {

int32_t ctorch_checkpoint(ctorch_segment_fn run, void *context, ctorch_release_fn release, const ctorch_tensor *inputs,
                          size_t input_count, const ctorch_tensor *parameters, size_t parameter_count, ctorch_tensor *out) {
  // The segment owns the caller's context from here on, failure included.
  auto segment = c10::make_intrusive<Segment>(run, context, release);
  return protect([&] {
    require_out(out);
    if (run == nullptr) throw std::invalid_argument("checkpoint segment function is NULL");
    auto tensors = [](const ctorch_tensor *handles, size_t count) {
      if (handles == nullptr && count > 0) throw std::invalid_argument("tensor array is NULL");
      std::vector<at::Tensor> values;
      values.reserve(count);
      for (size_t i = 0; i < count; ++i) values.push_back(unwrap(handles[i]));
      return values;
    };
    const auto input_values = tensors(inputs, input_count);
    const auto parameter_values = tensors(parameters, parameter_count);
    auto outputs = Checkpoint::apply(std::move(segment), at::TensorList(input_values), at::TensorList(parameter_values));
    *out = wrap(std::move(outputs[0]));
  });
}

bool ctorch_checkpoint_is_recomputing(void) { return recomputing; }

void ctorch_set_last_error(int32_t status, const char *message) {
  const std::string text = message == nullptr ? std::string() : std::string(message);
  if (status == CTORCH_OUT_OF_MEMORY) fail_out_of_memory(text);
  else fail(status, text);
}

}  // extern "C"
