// Top-K rasterizer (PyTorch3D Fragments semantics), face-major.
//
// Forward: each face visits the pixels of its bbox widened by sqrt(blur_radius); a pair is a
// candidate if the pixel is strictly inside the face or its squared distance to the face is
// < blur_radius, and its depth is > znear. Each pixel keeps the K smallest (z, face) pairs in
// a sorted fixed-size list (insertion, no per-hit sort). Only (z, face) are kept during the
// traversal; barycentrics and distances of the K winners are recomputed at the end, with the
// same function that produced z, so zbuf matches the ordering bit for bit.
// Pixels that had more than K candidates are counted per image (overflow) so callers can
// tell when K truncated coverage.
//
// Backward: pixel-major over the K slots (they are sparse and reference their face), adding
// into the image's own grad_verts rows: one thread per image, so no atomics and a fixed order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "face_geometry.h"
#include "raster_kernels.h"
#include "topk_simd.h"

namespace rc {
namespace raster {

namespace {

// Edge functions and the strict inside test, shared by the traversal and the final sample so
// both take exactly the same decisions and produce exactly the same depth.
template <typename T>
inline bool edges_inside(const FaceGeom<T>& g, T px, T py, T cr[3]) {
  for (int k = 0; k < 3; ++k) cr[k] = g.ex[k] * (py - g.y[k]) - g.ey[k] * (px - g.x[k]);
  return cr[0] * g.sgn > 0 && cr[1] * g.sgn > 0 && cr[2] * g.sgn > 0;
}

// Depth of a pair from its edge functions (screen barycentrics w); false if not usable.
// Perspective: z = 1 / sum_k(w_k / z_k). Otherwise z = sum_k w_k z_k.
template <typename T>
inline bool pair_depth(const FaceGeom<T>& g, const T cr[3], const TopKConfig& cfg,
                       const T iz[3], T w[3], T& u, T& z) {
  w[0] = cr[1] * g.inv_area2;
  w[1] = cr[2] * g.inv_area2;
  w[2] = cr[0] * g.inv_area2;
  if (cfg.perspective_correct) {
    u = w[0] * iz[0] + w[1] * iz[1] + w[2] * iz[2];
    // Inside the face u >= 1/max z > 0; extrapolated (blur) pixels can drive it to 0 or
    // below, where depth is meaningless: drop them instead of dividing.
    if (!(u > T(1e-12))) return false;
    z = T(1) / u;
  } else {
    u = 0;
    z = w[0] * g.z[0] + w[1] * g.z[1] + w[2] * g.z[2];
  }
  return z > T(cfg.znear) && std::isfinite(static_cast<double>(z));
}

// Squared distance to the face boundary for an outside pixel, or +inf if it is provably
// >= blur: the distance to the face is at least the distance to any edge line the pixel is
// outside of (|cr_k| = |e_k| * line distance), which rejects most bbox pixels cheaply.
template <typename T>
inline T outside_d2(const FaceGeom<T>& g, T px, T py, const T cr[3], T blur) {
  for (int k = 0; k < 3; ++k)
    if (cr[k] * g.sgn < 0 && cr[k] * cr[k] * g.il2[k] >= blur)
      return std::numeric_limits<T>::infinity();
  PointFace<T> o;
  point_face(g, px, py, o);
  return o.d2;
}

// Everything the outputs and the backward need about one kept pair. No acceptance test here:
// the pair was accepted by the traversal (scalar or SIMD, whose roundings may differ).
template <typename T>
struct Sample {
  PointFace<T> o;
  T w[3];   // screen barycentrics
  T b[3];   // output barycentrics (= w, or perspective-corrected)
  T z;      // depth recomputed from w (the backward's z; zbuf holds the traversal's key)
  T dist;   // -d2 inside, +d2 outside
};

template <typename T>
inline void eval_pair(const FaceGeom<T>& g, T px, T py, const TopKConfig& cfg, const T iz[3],
                      Sample<T>& s) {
  T cr[3];
  const bool inside = edges_inside(g, px, py, cr);
  point_face(g, px, py, s.o);
  s.o.inside = inside;
  s.w[0] = cr[1] * g.inv_area2;
  s.w[1] = cr[2] * g.inv_area2;
  s.w[2] = cr[0] * g.inv_area2;
  if (cfg.perspective_correct) {
    // the traversal required u > 1e-12; the floor only guards a different rounding
    const T u = std::max(s.w[0] * iz[0] + s.w[1] * iz[1] + s.w[2] * iz[2], T(1e-12));
    s.z = T(1) / u;
    for (int k = 0; k < 3; ++k) s.b[k] = s.w[k] * iz[k] * s.z;
  } else {
    s.z = s.w[0] * g.z[0] + s.w[1] * g.z[1] + s.w[2] * g.z[2];
    for (int k = 0; k < 3; ++k) s.b[k] = s.w[k];
  }
  s.dist = inside ? -s.o.d2 : s.o.d2;
}

// iz: the face's three inverse depths.
template <typename T>
bool setup_topk_face(const TopKConfig& cfg, const T* vb, const int64_t* faces, int64_t f,
                     double radius, FaceGeom<T>& g, T* iz) {
  const int64_t* fi = faces + f * 3;
  if (!setup_face(vb + fi[0] * 3, vb + fi[1] * 3, vb + fi[2] * 3, cfg.znear, radius, cfg.H,
                  cfg.W, g))
    return false;
  if (g.sgn == 0) return false;  // no barycentrics without area
  if (cfg.cull_backfaces && !g.front) return false;
  g.face = static_cast<int32_t>(f);
  for (int k = 0; k < 3; ++k) iz[k] = T(1) / g.z[k];
  return true;
}

}  // namespace

template <typename T>
void topk_forward(const TopKConfig& cfg, const T* verts, const int64_t* faces,
                  int64_t* pix_to_face, T* bary, T* zbuf, T* dists, int64_t* overflow,
                  int64_t b0, int64_t b1) {
  const int64_t H = cfg.H, W = cfg.W, K = cfg.K, HW = H * W;
  const double radius = cfg.blur_radius > 0 ? std::sqrt(cfg.blur_radius) : 0.0;
  const T blur = static_cast<T>(cfg.blur_radius);
  std::vector<T> xs, ys;
  pixel_centres(W, xs);
  pixel_centres(H, ys);
  std::vector<FaceGeom<T>> geo(static_cast<size_t>(cfg.F));
  std::vector<T> izs(static_cast<size_t>(cfg.F * 3));
  std::vector<uint8_t> ok(static_cast<size_t>(cfg.F));
  std::vector<T> lz(static_cast<size_t>(HW * K));
  std::vector<int32_t> lf(static_cast<size_t>(HW * K));
  std::vector<T> lp(static_cast<size_t>(HW * K * 4));  // per slot: b0, b1, b2, dist
  std::vector<int32_t> cnt(static_cast<size_t>(HW));

  for (int64_t b = b0; b < b1; ++b) {
    const T* vb = verts + b * cfg.V * 3;
    std::fill(cnt.begin(), cnt.end(), 0);
    for (int64_t f = 0; f < cfg.F; ++f)
      ok[f] = setup_topk_face(cfg, vb, faces, f, radius, geo[f], &izs[f * 3]);

    bool simd_done = false;
    if constexpr (std::is_same<T, float>::value) {
      if (simd_enabled()) {
        simd::topk_traverse_avx2(geo.data(), izs.data(), ok.data(), cfg.F, xs.data(), ys.data(),
                                 W, K, blur, static_cast<float>(cfg.znear),
                                 cfg.perspective_correct, lz.data(), lf.data(), lp.data(),
                                 cnt.data());
        simd_done = true;
      }
    }

    for (int64_t f = 0; f < cfg.F && !simd_done; ++f) {
      if (!ok[f]) continue;
      const FaceGeom<T>& g = geo[f];
      const T* iz = &izs[f * 3];
      const int32_t fid = static_cast<int32_t>(f);
      for (int32_t i = g.i0; i <= g.i1; ++i) {
        const T py = ys[i];
        for (int32_t j = g.j0; j <= g.j1; ++j) {
          const T px = xs[j];
          T cr[3], w[3], u, zc;
          if (!edges_inside(g, px, py, cr) && !(outside_d2(g, px, py, cr, blur) < blur))
            continue;
          if (!pair_depth(g, cr, cfg, iz, w, u, zc)) continue;
          const int64_t p = i * W + j;
          T* z = lz.data() + p * K;
          int32_t* fl = lf.data() + p * K;
          T* pl = lp.data() + p * K * 4;
          int32_t& n = cnt[p];
          // (z, face) order: ties broken by the face index, independent of visit order
          int32_t pos;
          if (n < K) {
            pos = n++;
          } else {
            ++n;  // counts candidates beyond K for the overflow report
            const int64_t last = K - 1;
            if (!(zc < z[last] || (zc == z[last] && fid < fl[last]))) continue;
            pos = static_cast<int32_t>(last);
          }
          while (pos > 0 && (zc < z[pos - 1] || (zc == z[pos - 1] && fid < fl[pos - 1]))) {
            z[pos] = z[pos - 1];
            fl[pos] = fl[pos - 1];
            for (int c = 0; c < 4; ++c) pl[pos * 4 + c] = pl[(pos - 1) * 4 + c];
            --pos;
          }
          Sample<T> s;
          eval_pair(g, px, py, cfg, iz, s);
          z[pos] = zc;
          fl[pos] = fid;
          for (int c = 0; c < 3; ++c) pl[pos * 4 + c] = s.b[c];
          pl[pos * 4 + 3] = s.dist;
        }
      }
    }

    int64_t over = 0;
    int64_t* p2f = pix_to_face + b * HW * K;
    T* bo = bary + b * HW * K * 3;
    T* zo = zbuf + b * HW * K;
    T* dout = dists + b * HW * K;
    for (int64_t p = 0; p < HW; ++p) {
      const int64_t n = std::min<int64_t>(cnt[p], K);
      if (cnt[p] > K) ++over;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t slot = p * K + k;
        if (k < n) {
          p2f[slot] = lf[slot];
          for (int c = 0; c < 3; ++c) bo[slot * 3 + c] = lp[slot * 4 + c];
          zo[slot] = lz[slot];  // the sort key itself, so zbuf is ordered exactly
          dout[slot] = lp[slot * 4 + 3];
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
  const double radius = cfg.blur_radius > 0 ? std::sqrt(cfg.blur_radius) : 0.0;

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
        if (!ok[f]) {  // lazy setup: only faces that won a slot
          ok[f] = setup_topk_face(cfg, vb, faces, f, radius, geo[f], &izs[f * 3]) ? 1 : 2;
        }
        if (ok[f] != 1) continue;
        const FaceGeom<T>& g = geo[f];
        Sample<T> s;
        eval_pair(g, px, py, cfg, &izs[f * 3], s);
        const T gz = grad_zbuf ? grad_zbuf[slot] : T(0);
        const T gd = grad_dists ? grad_dists[slot] : T(0);
        T gb[3] = {0, 0, 0};
        if (grad_bary)
          for (int c = 0; c < 3; ++c) gb[c] = grad_bary[slot * 3 + c];
        if (gz == T(0) && gd == T(0) && gb[0] == T(0) && gb[1] == T(0) && gb[2] == T(0))
          continue;
        T gxy[3][2] = {{0, 0}, {0, 0}, {0, 0}};
        T gzv[3] = {0, 0, 0};
        T gw[3];
        if (cfg.perspective_correct) {
          // b_i = (w_i/z_i)/u, z = 1/u, u = sum_k w_k/z_k
          const T dot = gb[0] * s.b[0] + gb[1] * s.b[1] + gb[2] * s.b[2];
          for (int c = 0; c < 3; ++c) {
            const T gq = (gb[c] - dot) * s.z - gz * s.z * s.z;  // dL/d(w_c/z_c)
            gw[c] = gq / g.z[c];
            gzv[c] = -gq * s.w[c] / (g.z[c] * g.z[c]);
          }
        } else {
          for (int c = 0; c < 3; ++c) {
            gw[c] = gb[c] + gz * g.z[c];
            gzv[c] = gz * s.w[c];
          }
        }
        backprop_bary(g, px, py, s.w, gw, gxy);
        backprop_d2(s.o, s.o.inside ? -gd : gd, gxy);
        const int64_t* fi = faces + f * 3;
        for (int v = 0; v < 3; ++v) {
          T* o = gv + fi[v] * 3;
          o[0] += gxy[v][0];
          o[1] += gxy[v][1];
          o[2] += gzv[v];
        }
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
