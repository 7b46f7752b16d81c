#include <torch/optim.h>
#include "rc_optim.h"
#include "tensor_handle.h"

struct rc_optim {
  std::unique_ptr<torch::optim::Optimizer> opt;
  enum Kind { Adam, AdamW, Sgd } kind;
  std::vector<at::Tensor> params;
};

namespace {
std::vector<at::Tensor> gather_params(rc_tensor* const* params, int32_t n, const char* what) {
  std::vector<at::Tensor> v;
  for (int32_t k = 0; k < n; ++k) {
    const auto& p = rc::unwrap(params[k], what);
    if (!p.is_leaf() || !p.requires_grad())
      throw std::invalid_argument("parameter " + std::to_string(k) + " " + rc::describe(p) +
                                  " must be a leaf that requires grad");
    v.push_back(p);
  }
  return v;
}

// The state record of parameter k, keyed as torch::optim keys it (by TensorImpl address).
torch::optim::OptimizerParamState* find_state(const rc_optim* o, int32_t k) {
  auto& states = o->opt->state();
  auto it = states.find(c10::guts::to_string(o->params.at(k).unsafeGetTensorImpl()));
  return it == states.end() ? nullptr : it->second.get();
}

void check_index(const rc_optim* o, int32_t k) {
  if (!o) throw std::invalid_argument("null optimizer");
  if (k < 0 || k >= static_cast<int32_t>(o->params.size()))
    throw std::invalid_argument("parameter index " + std::to_string(k) + " out of range 0.." +
                                std::to_string(o->params.size() - 1));
}

[[noreturn]] void bad_key(const char* key, const char* kind) {
  throw std::invalid_argument(std::string("no state '") + key + "' in " + kind);
}
}  // namespace

extern "C" {

RC_API rc_optim* rc_optim_adam_new(rc_tensor* const* params, int32_t n, double lr, double beta1,
                                   double beta2, double eps, double weight_decay, int32_t amsgrad,
                                   int32_t decoupled) {
  RC_GUARD(decoupled ? "AdamW" : "Adam", nullptr, {
    auto ps = gather_params(params, n, "Adam");
    auto o = std::make_unique<rc_optim>();
    o->params = ps;
    if (decoupled) {
      o->kind = rc_optim::AdamW;
      o->opt = std::make_unique<torch::optim::AdamW>(
          ps, torch::optim::AdamWOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad != 0));
    } else {
      o->kind = rc_optim::Adam;
      o->opt = std::make_unique<torch::optim::Adam>(
          ps, torch::optim::AdamOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad != 0));
    }
    return o.release();
  })
}

RC_API rc_optim* rc_optim_sgd_new(rc_tensor* const* params, int32_t n, double lr, double momentum,
                                  double dampening, double weight_decay, int32_t nesterov) {
  RC_GUARD("SGD", nullptr, {
    auto ps = gather_params(params, n, "SGD");
    auto o = std::make_unique<rc_optim>();
    o->params = ps;
    o->kind = rc_optim::Sgd;
    o->opt = std::make_unique<torch::optim::SGD>(
        ps, torch::optim::SGDOptions(lr).momentum(momentum).dampening(dampening).weight_decay(weight_decay).nesterov(nesterov != 0));
    return o.release();
  })
}

RC_API void rc_optim_free(rc_optim* o) { delete o; }

RC_API int32_t rc_optim_step(rc_optim* o) {
  RC_GUARD("optimizer step", RC_ERROR, {
    if (!o) throw std::invalid_argument("null optimizer");
    at::NoGradGuard no_grad;
    o->opt->step();
    return RC_OK;
  })
}

RC_API int32_t rc_optim_zero_grad(rc_optim* o) {
  RC_GUARD("optimizer zero_grad", RC_ERROR, {
    if (!o) throw std::invalid_argument("null optimizer");
    // Gradients are released, not zeroed (PyTorch 2's set_to_none): a parameter the next
    // backward does not reach keeps an undefined gradient, and Adam skips it instead of moving
    // it by its momentum. UNICORN's alternating pose and 3D steps rely on this.
    for (auto& p : o->params) p.mutable_grad().reset();
    return RC_OK;
  })
}

RC_API int32_t rc_optim_set_lr(rc_optim* o, double lr) {
  RC_GUARD("optimizer set_lr", RC_ERROR, {
    if (!o) throw std::invalid_argument("null optimizer");
    if (!(lr >= 0)) throw std::invalid_argument("learning rate must be >= 0, received " + std::to_string(lr));
    for (auto& g : o->opt->param_groups()) g.options().set_lr(lr);
    return RC_OK;
  })
}

RC_API int32_t rc_optim_get_lr(const rc_optim* o, double* lr) {
  RC_GUARD("optimizer get_lr", RC_ERROR, {
    if (!o) throw std::invalid_argument("null optimizer");
    *lr = o->opt->param_groups().at(0).options().get_lr();
    return RC_OK;
  })
}

RC_API rc_tensor* rc_optim_state_get(const rc_optim* o, int32_t param, const char* key) {
  RC_GUARD("optimizer state_get", nullptr, {
    check_index(o, param);
    auto* s = find_state(o, param);
    if (!s) return nullptr;
    std::string k = key;
    if (o->kind == rc_optim::Sgd) {
      auto& st = static_cast<torch::optim::SGDParamState&>(*s);
      if (k != "momentum_buffer") bad_key(key, "SGD");
      return st.momentum_buffer().defined() ? rc::wrap(st.momentum_buffer().clone()) : nullptr;
    }
    auto get = [&](auto& st) -> rc_tensor* {
      if (k == "step") return rc::wrap(at::scalar_tensor(st.step(), at::kLong));
      if (k == "exp_avg") return rc::wrap(st.exp_avg().clone());
      if (k == "exp_avg_sq") return rc::wrap(st.exp_avg_sq().clone());
      if (k == "max_exp_avg_sq") return st.max_exp_avg_sq().defined() ? rc::wrap(st.max_exp_avg_sq().clone()) : nullptr;
      bad_key(key, "Adam");
    };
    if (o->kind == rc_optim::Adam) return get(static_cast<torch::optim::AdamParamState&>(*s));
    return get(static_cast<torch::optim::AdamWParamState&>(*s));
  })
}

RC_API int32_t rc_optim_state_set(rc_optim* o, int32_t param, const char* key, const rc_tensor* value) {
  RC_GUARD("optimizer state_set", RC_ERROR, {
    check_index(o, param);
    const auto& v = rc::unwrap(value, "optimizer state_set");
    std::string k = key;
    auto& states = o->opt->state();
    auto id = c10::guts::to_string(o->params[param].unsafeGetTensorImpl());
    if (o->kind == rc_optim::Sgd) {
      if (k != "momentum_buffer") bad_key(key, "SGD");
      if (!states.count(id)) states[id] = std::make_unique<torch::optim::SGDParamState>();
      static_cast<torch::optim::SGDParamState&>(*states[id]).momentum_buffer(v.detach().clone());
      return RC_OK;
    }
    auto set = [&](auto& st) {
      if (k == "step") st.step(v.item<int64_t>());
      else if (k == "exp_avg") st.exp_avg(v.detach().clone());
      else if (k == "exp_avg_sq") st.exp_avg_sq(v.detach().clone());
      else if (k == "max_exp_avg_sq") st.max_exp_avg_sq(v.detach().clone());
      else bad_key(key, "Adam");
    };
    if (o->kind == rc_optim::Adam) {
      if (!states.count(id)) states[id] = std::make_unique<torch::optim::AdamParamState>();
      set(static_cast<torch::optim::AdamParamState&>(*states[id]));
    } else {
      if (!states.count(id)) states[id] = std::make_unique<torch::optim::AdamWParamState>();
      set(static_cast<torch::optim::AdamWParamState&>(*states[id]));
    }
    return RC_OK;
  })
}
}
