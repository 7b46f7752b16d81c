// Internal: how an at::Tensor travels across the C ABI.
#pragma once
#include <ATen/ATen.h>
#include <atomic>
#include "rc_common.h"

struct rc_tensor {
  at::Tensor t;
};

namespace rc {
// Live handle count, for tests that check nothing leaks across training steps.
extern std::atomic<int64_t> live_tensors;

// Takes a reference to `t` into a new handle (ownership goes to the caller).
inline rc_tensor* wrap(at::Tensor t) {
  auto* h = new rc_tensor{std::move(t)};
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return h;
}

// Throws with a message naming `what` if the handle is null or holds no tensor.
inline const at::Tensor& unwrap(const rc_tensor* h, const char* what) {
  if (h == nullptr || !h->t.defined())
    throw std::invalid_argument(std::string(what) + ": received a null or undefined tensor");
  return h->t;
}

// "float32[2, 3]": used in every error message that names a received tensor.
std::string describe(const at::Tensor& t);
}  // namespace rc
