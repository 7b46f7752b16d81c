// Internal: the AVX2+FMA blend and backward of the fused layered render (layered_avx2.cpp),
// for float32, 3 channels and K <= 8: one pixel's slots are one vector. Entered from
// layered.cpp only when the call's config asks for it (TopKConfig::simd); the portable code keeps everything that needs the
// standard library (the K-lists, the kept-slot record, the faces' setup), so nothing here
// instantiates a shared template.
#pragma once
#include <cstdint>

#include "face_geometry.h"

namespace rc {
namespace raster {
namespace simd {

// The blend of one image from its K-lists (topk_lists.h Lists: lf, lp, cnt), K <= 8.
struct LayeredImageForward {
  const int32_t* lf;        // (H*W, K) slot faces
  const float* lp;          // (H*W, K, 4) barycentrics and signed distance
  const int32_t* cnt;       // (H*W) filled slots (may exceed K: only K are kept)
  int64_t K, HW;
  const float* face_uvs;    // (F,3,2)
  const float* tex;         // (3,Ht,Wt) this image's texture
  int64_t Ht, Wt;
  const float* background;  // 3 values
  float neg_inv_sigma;
  float* rgb;               // (3,H*W)
  float* alpha;             // (H*W)
};

void layered_forward_image_avx2(const LayeredImageForward& a);

struct LayeredImageBackward {
  const FaceGeom<float>* geo;  // (F) per face, set up for every face in `slots`
  const float* izs;            // (F,3) inverse vertex depths
  const int64_t* faces;        // (F,3)
  const float* face_uvs;       // (F,3,2)
  const float* tex;            // (3,Ht,Wt) this image's texture
  int64_t Ht, Wt, H, W;
  const float* xs;             // (W+8) pixel centres
  const float* ys;             // (H+8)
  const int32_t* slots;        // this image's slot faces, pixel-major, front to back
  const int32_t* counts;       // (H*W) slots per pixel, each <= 8
  const float* grad_rgb;       // (3,H,W) or null
  const float* grad_alpha;     // (H*W) or null
  const float* background;     // 3 values
  float neg_inv_sigma;
  bool perspective;
  bool clip;                   // barycentrics clipped (topk_lists.h's clips)
  float* grad_verts;           // (V,3), accumulated into
  float* grad_tex;             // (3,Ht,Wt), accumulated into
};

void layered_backward_image_avx2(const LayeredImageBackward& a);

}  // namespace simd
}  // namespace raster
}  // namespace rc
