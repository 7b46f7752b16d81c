// Top-K rasterizer (PyTorch3D Fragments semantics), face-major.
//
// Forward: each face visits the pixels of its bbox widened by sqrt(blur_radius); a pair is a
// candidate if the pixel is strictly inside the face or its squared distance to the face is
// < blur_radius, and its depth is > znear. Each pixel keeps the K smallest (z, face) pairs in
// a sorted fixed-size list (insertion, no per-hit sort); the barycentrics and the distance
// travel with each pair, so the final write is a copy (topk_lists.h).
// Pixels that had more than K candidates are counted per image (overflow) so callers can
// tell when K truncated coverage.
//
// Backward: pixel-major over the K slots (they are sparse and reference their face), adding
// into the image's own grad_verts rows: one thread per image, so no atomics and a fixed order.
#include <algorithm>
#include <cmath>
#include <vector>

#include "topk_lists.h"

namespace rc {
namespace raster {

using namespace topk_detail;

template <typename T>
void topk_forward(const TopKConfig& cfg, const T* verts, const int64_t* faces,
                  int64_t* pix_to_face, T* bary, T* zbuf, T* dists, int64_t* overflow,
                  int64_t b0, int64_t b1) {
  const int64_t K = cfg.K, HW = cfg.H * cfg.W;
  Lists<T> L(cfg);
  for (int64_t b = b0; b < b1; ++b) {
    collect(cfg, verts + b * cfg.V * 3, faces, L);
    int64_t over = 0;
    int64_t* p2f = pix_to_face + b * HW * K;
    T* bo = bary + b * HW * K * 3;
    T* zo = zbuf + b * HW * K;
    T* dout = dists + b * HW * K;
    for (int64_t p = 0; p < HW; ++p) {
      const int64_t n = std::min<int64_t>(L.cnt[p], K);
      if (L.cnt[p] > K) ++over;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t slot = p * K + k;
        if (k < n) {
          p2f[slot] = L.lf[slot];
          for (int c = 0; c < 3; ++c) bo[slot * 3 + c] = L.lp[slot * 4 + c];
          zo[slot] = L.lz[slot];  // the sort key itself, so zbuf is ordered exactly
          dout[slot] = L.lp[slot * 4 + 3];
        } else {
          p2f[slot] = -1;
          for (int c = 0; c < 3; ++c) bo[slot * 3 + c] = T(-1);
          zo[slot] = T(-1);
          dout[slot] = T(-1);
        }
      }
    }
    overflow[b] = over;
  }
}

template <typename T>
void topk_backward(const TopKConfig& cfg, const T* verts, const int64_t* faces,
                   const int64_t* pix_to_face, const T* grad_bary, const T* grad_zbuf,
                   const T* grad_dists, T* grad_verts, int64_t b0, int64_t b1) {
  const int64_t H = cfg.H, W = cfg.W, K = cfg.K, HW = H * W;
  std::vector<T> xs, ys;
  pixel_centres(W, xs);
  pixel_centres(H, ys);
  std::vector<FaceGeom<T>> geo(static_cast<size_t>(cfg.F));
  std::vector<T> izs(static_cast<size_t>(cfg.F * 3));
  std::vector<uint8_t> ok(static_cast<size_t>(cfg.F));

  for (int64_t b = b0; b < b1; ++b) {
    const T* vb = verts + b * cfg.V * 3;
    T* gv = grad_verts + b * cfg.V * 3;
    std::fill(gv, gv + cfg.V * 3, T(0));
    std::fill(ok.begin(), ok.end(), uint8_t(0));
    const int64_t* p2f = pix_to_face + b * HW * K;
    for (int64_t p = 0; p < HW; ++p) {
      const T px = xs[p % W], py = ys[p / W];
      for (int64_t k = 0; k < K; ++k) {
        const int64_t slot = b * HW * K + p * K + k;
        const int64_t f = p2f[p * K + k];
        if (f < 0) break;  // slots are filled front to back
        const T gz = grad_zbuf ? grad_zbuf[slot] : T(0);
        const T gd = grad_dists ? grad_dists[slot] : T(0);
        T gb[3] = {0, 0, 0};
        if (grad_bary)
          for (int c = 0; c < 3; ++c) gb[c] = grad_bary[slot * 3 + c];
        if (gz == T(0) && gd == T(0) && gb[0] == T(0) && gb[1] == T(0) && gb[2] == T(0))
          continue;
        if (!ok[f]) {  // lazy setup: only faces that won a slot
          ok[f] = refresh_topk_face(vb, faces, f, geo[f], &izs[f * 3]) ? 1 : 2;
        }
        if (ok[f] != 1) continue;
        Sample<T> s;
        eval_pair(geo[f], px, py, cfg, &izs[f * 3], s);
        pair_backward(cfg, geo[f], px, py, s, gb, gz, gd, faces + f * 3, gv);
      }
    }
  }
}

template void topk_forward<float>(const TopKConfig&, const float*, const int64_t*, int64_t*,
                                  float*, float*, float*, int64_t*, int64_t, int64_t);
template void topk_forward<double>(const TopKConfig&, const double*, const int64_t*, int64_t*,
                                   double*, double*, double*, int64_t*, int64_t, int64_t);
template void topk_backward<float>(const TopKConfig&, const float*, const int64_t*,
                                   const int64_t*, const float*, const float*, const float*,
                                   float*, int64_t, int64_t);
template void topk_backward<double>(const TopKConfig&, const double*, const int64_t*,
                                    const int64_t*, const double*, const double*,
                                    const double*, double*, int64_t, int64_t);

}  // namespace raster
}  // namespace rc
