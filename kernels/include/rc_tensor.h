/* Tensor handles: creation from host memory, metadata, copies back, lifetime. */
#ifndef RC_TENSOR_H
#define RC_TENSOR_H
#include "rc_common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Scalar type codes are libtorch's: 0 uint8, 3 int32, 4 int64, 6 float32, 7 float64, 11 bool. */

/* Copies `nbytes` of host data into a new contiguous CPU tensor of `shape` and `dtype`. */
RC_API rc_tensor* rc_tensor_from_data(const void* data, int64_t nbytes, int32_t dtype,
                                      const int64_t* shape, int32_t ndim);
RC_API void rc_tensor_free(rc_tensor* t);
/* A second handle to the same tensor (shares storage and autograd identity). */
RC_API rc_tensor* rc_tensor_share(const rc_tensor* t);
RC_API int64_t rc_tensor_live_count(void);

RC_API int32_t rc_tensor_ndim(const rc_tensor* t);
/* Writes ndim sizes into `shape`. */
RC_API int32_t rc_tensor_shape(const rc_tensor* t, int64_t* shape);
RC_API int32_t rc_tensor_dtype(const rc_tensor* t);
/* Copies the (made contiguous) values into `dst`, which holds exactly `nbytes`. */
RC_API int32_t rc_tensor_copy_to(const rc_tensor* t, void* dst, int64_t nbytes);
/* The value of a one-element tensor as double. */
RC_API int32_t rc_tensor_item(const rc_tensor* t, double* value);

RC_API int32_t rc_tensor_requires_grad(const rc_tensor* t);
RC_API int32_t rc_tensor_set_requires_grad(rc_tensor* t, int32_t requires_grad);
/* The accumulated gradient, or NULL with no error when there is none. */
RC_API rc_tensor* rc_tensor_grad(const rc_tensor* t);
RC_API int32_t rc_tensor_set_grad(rc_tensor* t, const rc_tensor* grad /* NULL clears */);
RC_API int32_t rc_tensor_is_leaf(const rc_tensor* t);
/* Pointer to the first element when contiguous (for zero-copy reads of large results), else NULL. */
RC_API void* rc_tensor_data_ptr(const rc_tensor* t);

#ifdef __cplusplus
}
#endif
#endif
