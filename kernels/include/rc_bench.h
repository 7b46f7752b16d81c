/* The C++ halves of benchmarks whose other half is written in F#, timed in the same process. */
#ifndef RC_BENCH_H
#define RC_BENCH_H
#include "rc_common.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds per call of at::add on two 4-element float32 tensors, over `iterations`. */
RC_API double rc_bench_add_loop(int64_t iterations);
/* The benchmark's conv encoder + MLP head written with torch::nn, trained with Adam on random
 * data of (batch, 3, size, size). Writes each step's milliseconds into `step_ms[steps]`. */
RC_API int32_t rc_bench_train_steps(int32_t batch, int32_t size, int32_t steps, uint64_t seed, double* step_ms);

#ifdef __cplusplus
}
#endif
#endif
