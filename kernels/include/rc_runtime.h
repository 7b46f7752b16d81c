/* The process-wide runtime: thread count and what the native side is built with. */
#ifndef RC_RUNTIME_H
#define RC_RUNTIME_H
#include "rc_common.h"
#ifdef __cplusplus
extern "C" {
#endif

RC_API int32_t rc_runtime_set_threads(int32_t n);
RC_API int32_t rc_runtime_threads(void);
/* A JSON object: libtorch version, threads, cores, simd, blas (the shared library that
 * really provides sgemm_), parallel backend. Valid until the next call on this thread. */
RC_API const char* rc_runtime_info(void);

#ifdef __cplusplus
}
#endif
#endif
