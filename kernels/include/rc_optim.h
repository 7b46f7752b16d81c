/* libtorch's optimizers (torch::optim) over an explicit list of parameter tensors. */
#ifndef RC_OPTIM_H
#define RC_OPTIM_H
#include "rc_common.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_optim rc_optim;

/* Adam / AdamW: lr, beta1, beta2, eps, weight_decay, amsgrad. */
RC_API rc_optim* rc_optim_adam_new(rc_tensor* const* params, int32_t n, double lr, double beta1,
                                   double beta2, double eps, double weight_decay, int32_t amsgrad,
                                   int32_t decoupled /* 1 = AdamW */);
RC_API rc_optim* rc_optim_sgd_new(rc_tensor* const* params, int32_t n, double lr, double momentum,
                                  double dampening, double weight_decay, int32_t nesterov);
RC_API void rc_optim_free(rc_optim* o);
RC_API int32_t rc_optim_step(rc_optim* o);
RC_API int32_t rc_optim_zero_grad(rc_optim* o);
RC_API int32_t rc_optim_set_lr(rc_optim* o, double lr);
RC_API int32_t rc_optim_get_lr(const rc_optim* o, double* lr);
/* Per-parameter state by key ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq",
 * "momentum_buffer"): a copy, or NULL with no error when that state does not exist yet. */
RC_API rc_tensor* rc_optim_state_get(const rc_optim* o, int32_t param, const char* key);
/* Replaces that state (creating the parameter's state record if needed) with a copy. */
RC_API int32_t rc_optim_state_set(rc_optim* o, int32_t param, const char* key, const rc_tensor* value);

#ifdef __cplusplus
}
#endif
#endif
