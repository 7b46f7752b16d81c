// Process-wide malloc settings for tensor-sized blocks, set once when the library is loaded.
//
// Why: libtorch allocates every tensor with posix_memalign. glibc serves blocks above its mmap
// threshold (128 KiB at start, raised after frees up to 32 MiB) with fresh mmaps that go back
// to the kernel on free, and trims the heap top beyond twice that threshold. A training step
// allocates and frees the same tens of MB of tensors every iteration, so every step faulted
// them in again: on this project's VM the kernel's page-fault handling was 25-30% of the top-K
// rasterizer's time (43 k faults per call for its 176 MB of fragments).
//
// What: the mmap threshold fixed at glibc's maximum (32 MiB, which also turns off the dynamic
// adjustment) and heap trimming only beyond 1 GiB of free top. Blocks up to 32 MiB are then
// reused from the heap without faults. Larger ones are still mmapped (glibc caps the
// threshold), which is one more reason the renderer's fused kernel avoids them.
//
// Cost: memory freed after a step stays resident, up to the step's peak; a training loop
// reuses it on the next step. Call malloc_trim(0) to hand it back after a one-off spike.
//
// Opt out: glibc's own settings win (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or
// GLIBC_TUNABLES in the environment), and RECONSTRUCT_MALLOC_DEFAULTS=1 leaves malloc alone.
#if defined(__GLIBC__)
#include <malloc.h>

#include <cstdlib>

namespace {

struct MallocSettings {
  MallocSettings() {
    if (std::getenv("RECONSTRUCT_MALLOC_DEFAULTS") != nullptr) return;
    if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr)
      mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
};

const MallocSettings settings;

}  // namespace
#endif
