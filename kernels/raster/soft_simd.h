// Internal: the AVX2+FMA silhouette kernels (soft_avx2.cpp). That file is the only one
// compiled for AVX2 (by target pragma), and is only entered after a run-time CPU check.
#pragma once
#include <cstdint>
#include "face_geometry.h"

namespace rc {
namespace raster {
namespace simd {

bool cpu_has_avx2_fma();

// T (H rows of stride Wp >= W+8) *= prod over faces of (1 - D) for pairs inside the cut-off.
// xs: W+8 pixel-centre x, ys: H pixel-centre y.
void sil_forward_avx2(const FaceGeom<float>* faces, int64_t nf, const float* xs,
                      const float* ys, int64_t Wp, float inv_sigma, float thr, float* Tbuf);

// gT = dL/dA * T per pixel (stride Wp). Writes gxy[f*6 + 2*v + c] = dL/d(vertex v, coord c).
void sil_backward_avx2(const FaceGeom<float>* faces, int64_t nf, const float* xs,
                       const float* ys, int64_t Wp, float inv_sigma, float thr,
                       const float* gT, float* gxy);

}  // namespace simd
}  // namespace raster
}  // namespace rc
