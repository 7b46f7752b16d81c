#include <torch/csrc/autograd/autograd.h>
#include "rc_autograd.h"
#include "tensor_handle.h"

namespace {
std::vector<at::Tensor> gather(rc_tensor* const* hs, int32_t n, const char* what, bool allow_null) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int32_t k = 0; k < n; ++k) {
    if (hs[k] == nullptr && allow_null) v.emplace_back();
    else v.push_back(rc::unwrap(hs[k], what));
  }
  return v;
}
}  // namespace

extern "C" {

RC_API int32_t rc_autograd_backward(rc_tensor* const* outputs, rc_tensor* const* grads, int32_t n,
                                    int32_t retain_graph, int32_t create_graph) {
  RC_GUARD("backward", RC_ERROR, {
    auto outs = gather(outputs, n, "backward", false);
    std::vector<at::Tensor> gs = grads ? gather(grads, n, "backward", true) : std::vector<at::Tensor>(n);
    for (int32_t k = 0; k < n; ++k) {
      if (!outs[k].requires_grad())
        throw std::invalid_argument("output " + rc::describe(outs[k]) +
                                    " does not require grad: nothing upstream of it is differentiable");
      if (!gs[k].defined() && outs[k].numel() != 1)
        throw std::invalid_argument("without an explicit gradient the output must be a scalar, received " +
                                    rc::describe(outs[k]));
    }
    torch::autograd::backward(outs, gs, retain_graph ? c10::optional<bool>(true) : c10::nullopt, create_graph != 0);
    return RC_OK;
  })
}

RC_API int32_t rc_autograd_grad(rc_tensor* const* outputs, rc_tensor* const* grads, int32_t n,
                                rc_tensor* const* inputs, int32_t m, int32_t retain_graph,
                                int32_t create_graph, int32_t allow_unused, rc_tensor** result) {
  RC_GUARD("grad", RC_ERROR, {
    auto outs = gather(outputs, n, "grad", false);
    std::vector<at::Tensor> gs = grads ? gather(grads, n, "grad", true) : std::vector<at::Tensor>(n);
    auto ins = gather(inputs, m, "grad", false);
    for (auto& x : ins)
      if (!x.requires_grad())
        throw std::invalid_argument("input " + rc::describe(x) + " does not require grad");
    auto r = torch::autograd::grad(outs, ins, gs, retain_graph ? c10::optional<bool>(true) : c10::nullopt,
                                   create_graph != 0, allow_unused != 0);
    for (int32_t k = 0; k < m; ++k) result[k] = r[k].defined() ? rc::wrap(r[k]) : nullptr;
    return RC_OK;
  })
}

RC_API int32_t rc_autograd_set_enabled(int32_t enabled) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(enabled != 0);
  return previous ? 1 : 0;
}

RC_API int32_t rc_autograd_is_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }
}
