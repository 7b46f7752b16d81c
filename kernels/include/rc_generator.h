/* Explicit, seeded random generators: every random op takes one; nothing uses a global seed. */
#ifndef RC_GENERATOR_H
#define RC_GENERATOR_H
#include "rc_common.h"
#include "rc_op.h"
#ifdef __cplusplus
extern "C" {
#endif

RC_API rc_generator* rc_generator_new(uint64_t seed);
RC_API void rc_generator_free(rc_generator* g);
/* The full state (a uint8 tensor), to store in a checkpoint. */
RC_API rc_tensor* rc_generator_get_state(const rc_generator* g);
RC_API int32_t rc_generator_set_state(rc_generator* g, const rc_tensor* state);

#ifdef __cplusplus
}
#endif
#endif
