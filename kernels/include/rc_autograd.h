/* Reverse-mode differentiation: backward, grad of outputs w.r.t. inputs, grad mode. */
#ifndef RC_AUTOGRAD_H
#define RC_AUTOGRAD_H
#include "rc_common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Accumulates d(sum of outputs·grads)/d(leaf) into the leaves' .grad. grads may be NULL
 * (each output must then be a scalar) or hold NULL entries. */
RC_API int32_t rc_autograd_backward(rc_tensor* const* outputs, rc_tensor* const* grads, int32_t n,
                                    int32_t retain_graph, int32_t create_graph);
/* Writes the gradients of the outputs w.r.t. each of the m inputs into `result` (NULL where
 * allow_unused and the input is unused). create_graph makes them differentiable again. */
RC_API int32_t rc_autograd_grad(rc_tensor* const* outputs, rc_tensor* const* grads, int32_t n,
                                rc_tensor* const* inputs, int32_t m, int32_t retain_graph,
                                int32_t create_graph, int32_t allow_unused, rc_tensor** result);
/* Sets grad mode for this thread; returns the previous mode (0/1). */
RC_API int32_t rc_autograd_set_enabled(int32_t enabled);
RC_API int32_t rc_autograd_is_enabled(void);

#ifdef __cplusplus
}
#endif
#endif
