// Internal: the AVX2+FMA top-K traversal (topk_avx2.cpp), entered only after the run-time
// CPU check in soft_avx2.cpp (simd::cpu_has_avx2_fma).
#pragma once
#include <cstdint>
#include "face_geometry.h"

namespace rc {
namespace raster {
namespace simd {

// Visits the bbox of every face with ok[f] != 0 and inserts its candidate pairs into the
// per-pixel sorted lists: lz/lf (H*W*K depth / face), lp (H*W*K*4: barycentrics b0..b2 and
// the signed squared distance), cnt (H*W candidate counts, may exceed K; with `stop`, see
// TopKConfig::stop_at_opaque, the kept slots). iz: 3 inverse depths per face. xs must hold
// W+8 entries. clip: the barycentrics (and so the depth) are clipped, as topk_lists.h's
// clip_bary.
void topk_traverse_avx2(const FaceGeom<float>* faces, const float* iz, const uint8_t* ok,
                        int64_t nf, const float* xs, const float* ys, int64_t W, int64_t K,
                        float blur, float znear, bool perspective, bool clip, bool stop, float* lz, int32_t* lf,
                        float* lp, int32_t* cnt);

}  // namespace simd
}  // namespace raster
}  // namespace rc
