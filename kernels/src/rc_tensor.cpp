#include <cstring>
#include "rc_tensor.h"
#include "tensor_handle.h"

namespace {
at::ScalarType checked_dtype(int32_t code, const char* what) {
  switch (code) {
    case 0: return at::kByte;
    case 3: return at::kInt;
    case 4: return at::kLong;
    case 6: return at::kFloat;
    case 7: return at::kDouble;
    case 11: return at::kBool;
    case 5: return at::kHalf;
    default:
      throw std::invalid_argument(std::string(what) + ": unsupported dtype code " + std::to_string(code));
  }
}
}  // namespace

extern "C" {

RC_API rc_tensor* rc_tensor_from_data(const void* data, int64_t nbytes, int32_t dtype,
                                      const int64_t* shape, int32_t ndim) {
  RC_GUARD("rc_tensor_from_data", nullptr, {
    auto type = checked_dtype(dtype, "rc_tensor_from_data");
    if (ndim < 0) throw std::invalid_argument("negative rank " + std::to_string(ndim));
    std::vector<int64_t> sizes(shape, shape + ndim);
    int64_t numel = 1;
    for (auto s : sizes) {
      if (s < 0) throw std::invalid_argument("negative size in shape");
      numel *= s;
    }
    int64_t expected = numel * static_cast<int64_t>(c10::elementSize(type));
    if (expected != nbytes)
      throw std::invalid_argument("shape needs " + std::to_string(expected) + " bytes, received " +
                                  std::to_string(nbytes));
    auto t = at::empty(sizes, at::TensorOptions().dtype(type));
    if (nbytes > 0) std::memcpy(t.data_ptr(), data, nbytes);
    return rc::wrap(std::move(t));
  })
}

RC_API void rc_tensor_free(rc_tensor* t) {
  if (t == nullptr) return;
  delete t;
  rc::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

RC_API rc_tensor* rc_tensor_share(const rc_tensor* t) {
  RC_GUARD("rc_tensor_share", nullptr, { return rc::wrap(rc::unwrap(t, "rc_tensor_share")); })
}

RC_API int64_t rc_tensor_live_count(void) { return rc::live_tensors.load(); }

RC_API int32_t rc_tensor_ndim(const rc_tensor* t) {
  RC_GUARD("rc_tensor_ndim", -1, { return static_cast<int32_t>(rc::unwrap(t, "rc_tensor_ndim").dim()); })
}

RC_API int32_t rc_tensor_shape(const rc_tensor* t, int64_t* shape) {
  RC_GUARD("rc_tensor_shape", RC_ERROR, {
    const auto& x = rc::unwrap(t, "rc_tensor_shape");
    for (int64_t i = 0; i < x.dim(); ++i) shape[i] = x.size(i);
    return RC_OK;
  })
}

RC_API int32_t rc_tensor_dtype(const rc_tensor* t) {
  RC_GUARD("rc_tensor_dtype", -1, {
    return static_cast<int32_t>(rc::unwrap(t, "rc_tensor_dtype").scalar_type());
  })
}

RC_API int32_t rc_tensor_copy_to(const rc_tensor* t, void* dst, int64_t nbytes) {
  RC_GUARD("rc_tensor_copy_to", RC_ERROR, {
    const auto& x = rc::unwrap(t, "rc_tensor_copy_to");
    int64_t have = x.numel() * static_cast<int64_t>(x.element_size());
    if (have != nbytes)
      throw std::invalid_argument(rc::describe(x) + " holds " + std::to_string(have) +
                                  " bytes, destination has " + std::to_string(nbytes));
    if (nbytes == 0) return RC_OK;
    auto c = x.detach().contiguous();
    std::memcpy(dst, c.data_ptr(), nbytes);
    return RC_OK;
  })
}

RC_API int32_t rc_tensor_item(const rc_tensor* t, double* value) {
  RC_GUARD("rc_tensor_item", RC_ERROR, {
    const auto& x = rc::unwrap(t, "rc_tensor_item");
    if (x.numel() != 1)
      throw std::invalid_argument("expected one element, received " + rc::describe(x));
    *value = x.item<double>();
    return RC_OK;
  })
}

RC_API int32_t rc_tensor_requires_grad(const rc_tensor* t) {
  RC_GUARD("rc_tensor_requires_grad", -1, { return rc::unwrap(t, "rc_tensor_requires_grad").requires_grad() ? 1 : 0; })
}

RC_API int32_t rc_tensor_set_requires_grad(rc_tensor* t, int32_t requires_grad) {
  RC_GUARD("rc_tensor_set_requires_grad", RC_ERROR, {
    const auto& x = rc::unwrap(t, "rc_tensor_set_requires_grad");
    const_cast<at::Tensor&>(x).requires_grad_(requires_grad != 0);
    return RC_OK;
  })
}

RC_API rc_tensor* rc_tensor_grad(const rc_tensor* t) {
  RC_GUARD("rc_tensor_grad", nullptr, {
    const auto& g = rc::unwrap(t, "rc_tensor_grad").grad();
    if (!g.defined()) return nullptr;
    return rc::wrap(g);
  })
}

RC_API int32_t rc_tensor_set_grad(rc_tensor* t, const rc_tensor* grad) {
  RC_GUARD("rc_tensor_set_grad", RC_ERROR, {
    auto& x = const_cast<at::Tensor&>(rc::unwrap(t, "rc_tensor_set_grad"));
    if (grad == nullptr)
      x.mutable_grad() = at::Tensor();
    else
      x.mutable_grad() = rc::unwrap(grad, "rc_tensor_set_grad");
    return RC_OK;
  })
}

RC_API int32_t rc_tensor_is_leaf(const rc_tensor* t) {
  RC_GUARD("rc_tensor_is_leaf", -1, { return rc::unwrap(t, "rc_tensor_is_leaf").is_leaf() ? 1 : 0; })
}

RC_API void* rc_tensor_data_ptr(const rc_tensor* t) {
  RC_GUARD("rc_tensor_data_ptr", nullptr, {
    const auto& x = rc::unwrap(t, "rc_tensor_data_ptr");
    return x.is_contiguous() ? x.data_ptr() : nullptr;
  })
}
}
