// Activation checkpointing: a custom autograd function that runs a caller's segment
// without keeping its activations and runs it again, with gradients, during backward.
// libtorch's C++ API has none (torch.utils.checkpoint is Python), so this is our own,
// in the shape of PyTorch's reentrant checkpoint with its two known flaws fixed:
//  - the parameters are inputs of the node, so they get gradients even when the
//    segment's input does not require one (a frozen stem before a trained stage);
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
  at::Tensor operator()(const at::Tensor &input) const {
    ctorch_tensor output = nullptr;
    const int32_t status = run(context, wrap(input), &output);
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

struct Checkpoint : torch::autograd::Function<Checkpoint> {
  static variable_list forward(AutogradContext *ctx, c10::intrusive_ptr<Segment> segment, at::Tensor input,
                               at::TensorList parameters) {
    const auto device = input.device().type();
    const auto autocast = AutocastState::current(device);
    ctx->saved_data["segment"] = c10::IValue::make_capsule(segment);
    ctx->saved_data["rng"] = random_state(default_generator(input));
    ctx->saved_data["autocast"] = c10::IValue(autocast.enabled);
    ctx->saved_data["autocast_dtype"] = c10::IValue(static_cast<int64_t>(autocast.dtype));
    ctx->saved_data["input_requires_grad"] = input.requires_grad();
    variable_list saved{input};
    saved.insert(saved.end(), parameters.begin(), parameters.end());
    ctx->save_for_backward(saved);
    return {(*segment)(input)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list output_gradients) {
    auto segment = c10::static_intrusive_pointer_cast<Segment>(ctx->saved_data["segment"].toCapsule());
    const variable_list saved = ctx->get_saved_variables();
    const bool input_requires_grad = ctx->saved_data["input_requires_grad"].toBool();
    at::Tensor input = saved[0].detach().requires_grad_(input_requires_grad);

    // What the recompute differentiates: the input when it needs a gradient, and every
    // parameter that does.
    variable_list targets;
    if (input_requires_grad) targets.push_back(input);
    std::vector<size_t> parameter_slots;
    for (size_t i = 1; i < saved.size(); ++i) {
      if (saved[i].requires_grad()) {
        targets.push_back(saved[i]);
        parameter_slots.push_back(i);
      }
    }

    at::Tensor output;
    {
      // The forward's random state and autocast, restored around the recompute.
      auto generator = default_generator(input);
      const at::Tensor rng_now = random_state(generator);
      const auto device = input.device().type();
      const auto autocast_now = AutocastState::current(device);
      const AutocastState autocast_then{device, ctx->saved_data["autocast"].toBool(),
                                        static_cast<at::ScalarType>(ctx->saved_data["autocast_dtype"].toInt())};
      set_random_state(generator, ctx->saved_data["rng"].toTensor());
      autocast_then.apply();
      FlagScope flag(recomputing, true);
      at::AutoGradMode grad(true);
      try {
        output = (*segment)(input);
      } catch (...) {
        autocast_now.apply();
        set_random_state(generator, rng_now);
        throw;
      }
      autocast_now.apply();
      set_random_state(generator, rng_now);
    }

    variable_list gradients(2 + saved.size() - 1);  // segment, input, parameters...
    if (targets.empty()) return gradients;
    auto computed = torch::autograd::grad({output}, targets, {output_gradients[0]}, /*retain_graph=*/false,
                                          /*create_graph=*/false, /*allow_unused=*/true);
    size_t next = 0;
    if (input_requires_grad) gradients[1] = computed[next++];
    for (size_t slot : parameter_slots) gradients[1 + slot] = computed[next++];
    return gradients;
  }
};

}  // namespace
}  // namespace ctorch

using namespace ctorch;

extern "C" {

int32_t ctorch_checkpoint(ctorch_segment_fn run, void *context, ctorch_release_fn release, ctorch_tensor input,
                          const ctorch_tensor *parameters, size_t parameter_count, ctorch_tensor *out) {
  // The segment owns the caller's context from here on, failure included.
  auto segment = c10::make_intrusive<Segment>(run, context, release);
  return protect([&] {
    require_out(out);
    if (run == nullptr) throw std::invalid_argument("checkpoint segment function is NULL");
    if (parameters == nullptr && parameter_count > 0) throw std::invalid_argument("parameter array is NULL");
    std::vector<at::Tensor> tensors;
    tensors.reserve(parameter_count);
    for (size_t i = 0; i < parameter_count; ++i) tensors.push_back(unwrap(parameters[i]));
    auto outputs = Checkpoint::apply(std::move(segment), unwrap(input), at::TensorList(tensors));
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
