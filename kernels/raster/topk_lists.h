// Internal: the top-K traversal shared by the Fragments op (topk.cpp) and the fused textured
// layered op (layered.cpp). For one image it fills, per pixel, a list of the K nearest
// candidate faces sorted by (z, face index), with the barycentrics and signed distance of
// each; the pair evaluation and its backward are here too, so every op that consumes the
// lists differentiates them the same way.
#pragma once
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
namespace topk_detail {

// Edge functions and the strict inside test, shared by the traversal and the final sample so
// both take exactly the same decisions and produce exactly the same depth.
template <typename T>
inline bool edges_inside(const FaceGeom<T>& g, T px, T py, T cr[3]) {
  for (int k = 0; k < 3; ++k) cr[k] = g.ex[k] * (py - g.y[k]) - g.ey[k] * (px - g.x[k]);
  return cr[0] * g.sgn > 0 && cr[1] * g.sgn > 0 && cr[2] * g.sgn > 0;
}

// With a blur radius, an outside pair's barycentrics are clipped (PyTorch3D's
// clip_barycentric_coords, on whenever blur_radius > 0): each clamped to >= 0, then
// renormalised to sum 1. Its depth (the sort key and zbuf) and its output barycentrics are
// then the face's at that point, not its plane's extended to the pixel: on a convex surface the
// neighbours' extended planes pass in front of the face that covers the pixel, and would take
// its K slots. Clipping screen barycentrics and then correcting for perspective equals
// PyTorch3D's order (correct, then clip): the perspective denominator cancels.
inline bool clips(const TopKConfig& cfg) { return cfg.blur_radius > 0; }

// wc = clip(w). Inside a face (no negative coordinate) wc = w exactly: the renormalisation
// is an identity there (sum w = 1), so the forward keeps its bits and the gradient is w's.
// The sum of the clamped coordinates is >= sum w = 1, so nothing divides by a small number.
template <typename T>
inline void clip_bary(const T w[3], T wc[3]) {
  if (!(w[0] < T(0) || w[1] < T(0) || w[2] < T(0))) {
    for (int k = 0; k < 3; ++k) wc[k] = w[k];
    return;
  }
  const T m[3] = {std::max(w[0], T(0)), std::max(w[1], T(0)), std::max(w[2], T(0))};
  const T sum = m[0] + m[1] + m[2];
  for (int k = 0; k < 3; ++k) wc[k] = m[k] / sum;
}

// Turns g = dL/dwc into dL/dw in place: through the renormalisation, and nothing through a
// clamped coordinate.
template <typename T>
inline void clip_bary_backward(const T w[3], const T wc[3], T g[3]) {
  if (!(w[0] < T(0) || w[1] < T(0) || w[2] < T(0))) return;
  const T sum = std::max(w[0], T(0)) + std::max(w[1], T(0)) + std::max(w[2], T(0));
  const T dot = g[0] * wc[0] + g[1] * wc[1] + g[2] * wc[2];
  for (int k = 0; k < 3; ++k) g[k] = w[k] > T(0) ? (g[k] - dot) / sum : T(0);
}

// Depth of a pair from its edge functions; false if not usable. wc: the screen barycentrics,
// clipped when clips(cfg). Perspective: z = 1 / sum_k(wc_k / z_k). Otherwise z = sum_k wc_k z_k.
template <typename T>
inline bool pair_depth(const FaceGeom<T>& g, const T cr[3], const TopKConfig& cfg,
                       const T iz[3], T wc[3], T& u, T& z) {
  T w[3];
  w[0] = cr[1] * g.inv_area2;
  w[1] = cr[2] * g.inv_area2;
  w[2] = cr[0] * g.inv_area2;
  if (clips(cfg))
    clip_bary(w, wc);
  else
    for (int k = 0; k < 3; ++k) wc[k] = w[k];
  if (cfg.perspective_correct) {
    u = wc[0] * iz[0] + wc[1] * iz[1] + wc[2] * iz[2];
    // Inside the face u >= 1/max z > 0; unclipped extrapolated pixels can drive it to 0 or
    // below, where depth is meaningless: drop them instead of dividing.
    if (!(u > T(1e-12))) return false;
    z = T(1) / u;
  } else {
    u = 0;
    z = wc[0] * g.z[0] + wc[1] * g.z[1] + wc[2] * g.z[2];
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
  T wc[3];  // the same clipped when clips(cfg), else = w
  T b[3];   // output barycentrics (= wc, or wc perspective-corrected)
  T z;      // depth recomputed from wc (the backward's z; zbuf holds the traversal's key)
  T dist;   // -d2 inside, +d2 outside
};

template <typename T>
inline void eval_pair(const FaceGeom<T>& g, T px, T py, const TopKConfig& cfg, const T iz[3],
                      Sample<T>& s) {
  // point_face's edge functions and inside test are edges_inside's, operation for operation
  point_face(g, px, py, s.o);
  const T* cr = s.o.cr;
  s.w[0] = cr[1] * g.inv_area2;
  s.w[1] = cr[2] * g.inv_area2;
  s.w[2] = cr[0] * g.inv_area2;
  if (clips(cfg))
    clip_bary(s.w, s.wc);
  else
    for (int k = 0; k < 3; ++k) s.wc[k] = s.w[k];
  const T* wc = s.wc;
  if (cfg.perspective_correct) {
    // the traversal required u > 1e-12; the floor only guards a different rounding
    const T u = std::max(wc[0] * iz[0] + wc[1] * iz[1] + wc[2] * iz[2], T(1e-12));
    s.z = T(1) / u;
    for (int k = 0; k < 3; ++k) s.b[k] = wc[k] * iz[k] * s.z;
  } else {
    s.z = wc[0] * g.z[0] + wc[1] * g.z[1] + wc[2] * g.z[2];
    for (int k = 0; k < 3; ++k) s.b[k] = wc[k];
  }
  s.dist = s.o.inside ? -s.o.d2 : s.o.d2;
}

// Adds the gradient of one kept pair w.r.t. its three vertices into gv (the image's (V,3)
// rows), given dL/d(output barycentrics) gb, dL/dz gz and dL/d(signed distance) gd.
template <typename T>
inline void pair_backward(const TopKConfig& cfg, const FaceGeom<T>& g, T px, T py,
                          const Sample<T>& s, const T gb[3], T gz, T gd, const int64_t* fi,
                          T* gv) {
  T gxy[3][2] = {{0, 0}, {0, 0}, {0, 0}};
  T gzv[3] = {0, 0, 0};
  T gw[3];
  if (cfg.perspective_correct) {
    // b_i = (w_i/z_i)/u, z = 1/u, u = sum_k w_k/z_k
    const T dot = gb[0] * s.b[0] + gb[1] * s.b[1] + gb[2] * s.b[2];
    for (int c = 0; c < 3; ++c) {
      const T gq = (gb[c] - dot) * s.z - gz * s.z * s.z;  // dL/d(wc_c/z_c)
      gw[c] = gq / g.z[c];
      gzv[c] = -gq * s.wc[c] / (g.z[c] * g.z[c]);
    }
  } else {
    for (int c = 0; c < 3; ++c) {
      gw[c] = gb[c] + gz * g.z[c];
      gzv[c] = gz * s.wc[c];
    }
  }
  if (clips(cfg)) clip_bary_backward(s.w, s.wc, gw);
  backprop_bary(g, px, py, s.w, gw, gxy);
  if (gd != T(0)) backprop_d2(s.o, s.o.inside ? -gd : gd, gxy);
  for (int v = 0; v < 3; ++v) {
    T* o = gv + fi[v] * 3;
    o[0] += gxy[v][0];
    o[1] += gxy[v][1];
    o[2] += gzv[v];
  }
}

// Setup of a face that the forward rasterized (so it passed every check): geometry only.
template <typename T>
inline bool refresh_topk_face(const T* vb, const int64_t* faces, int64_t f, FaceGeom<T>& g,
                              T* iz) {
  const int64_t* fi = faces + f * 3;
  face_geometry(vb + fi[0] * 3, vb + fi[1] * 3, vb + fi[2] * 3, g);
  if (g.sgn == 0) return false;  // cannot happen for a face that held a slot
  g.face = static_cast<int32_t>(f);
  for (int k = 0; k < 3; ++k) iz[k] = T(1) / g.z[k];
  return true;
}

// iz: the face's three inverse depths.
template <typename T>
inline bool setup_topk_face(const TopKConfig& cfg, const T* vb, const int64_t* faces,
                            int64_t f, double radius, FaceGeom<T>& g, T* iz) {
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

// Sorted insertion into one pixel's list: (z, face) order, ties broken by the face index so
// the result does not depend on the visit order. n counts every candidate, also those beyond
// K (the overflow report), or with `stop` (TopKConfig::stop_at_opaque) the kept slots only.
// pay: the slot payload b0, b1, b2, dist.
template <typename T>
inline bool before(T zc, int32_t fid, T z, int32_t f) {
  return zc < z || (zc == z && fid < f);
}

// True when a candidate (zc, fid) cannot enter the list; counts it when it is an overflow.
template <typename T>
inline bool refused(T zc, int32_t fid, int64_t K, bool stop, const T* z, const int32_t* fl,
                    const T* pl, int32_t& n) {
  const int64_t filled = n < K ? n : K;
  const bool closed = stop && filled > 0 && !(pl[(filled - 1) * 4 + 3] > T(0));
  if (filled < K && !closed) return false;
  if (!stop) ++n;
  return !before(zc, fid, z[filled - 1], fl[filled - 1]);
}

template <typename T>
inline void insert(T zc, int32_t fid, const T pay[4], int64_t K, bool stop, T* z, int32_t* fl,
                   T* pl, int32_t& n) {
  const int64_t filled = n < K ? n : K;
  if (refused(zc, fid, K, stop, z, fl, pl, n)) return;
  int64_t pos = filled < K ? filled : K - 1;
  if (filled < K) ++n;  // (the overflow count was taken by `refused`)
  while (pos > 0 && before(zc, fid, z[pos - 1], fl[pos - 1])) {
    z[pos] = z[pos - 1];
    fl[pos] = fl[pos - 1];
    for (int c = 0; c < 4; ++c) pl[pos * 4 + c] = pl[(pos - 1) * 4 + c];
    --pos;
  }
  z[pos] = zc;
  fl[pos] = fid;
  for (int c = 0; c < 4; ++c) pl[pos * 4 + c] = pay[c];
  if (stop && !(pay[3] > T(0))) n = static_cast<int32_t>(pos + 1);
}

// Per-thread scratch of the traversal; sized once per call, reused for every image.
template <typename T>
struct Lists {
  std::vector<T> xs, ys;           // pixel centres (padded for SIMD loads)
  std::vector<FaceGeom<T>> geo;    // per face
  std::vector<T> izs;              // per face: 3 inverse depths
  std::vector<uint8_t> ok;         // per face: rasterizable
  std::vector<T> lz;               // (H*W, K) depth keys, sorted
  std::vector<int32_t> lf;         // (H*W, K) face indices
  std::vector<T> lp;               // (H*W, K, 4) barycentrics b0..b2 and the signed distance
  std::vector<int32_t> cnt;        // (H*W) candidates seen (may exceed K)

  explicit Lists(const TopKConfig& cfg) {
    const size_t HW = static_cast<size_t>(cfg.H * cfg.W), K = static_cast<size_t>(cfg.K);
    pixel_centres(cfg.W, xs);
    pixel_centres(cfg.H, ys);
    geo.resize(static_cast<size_t>(cfg.F));
    izs.resize(static_cast<size_t>(cfg.F * 3));
    ok.resize(static_cast<size_t>(cfg.F));
    lz.resize(HW * K);
    lf.resize(HW * K);
    lp.resize(HW * K * 4);
    cnt.resize(HW);
  }
};

// Fills L's lists for one image (vb: its (V,3) vertices).
template <typename T>
void collect(const TopKConfig& cfg, const T* vb, const int64_t* faces, Lists<T>& L) {
  const int64_t W = cfg.W, K = cfg.K;
  const double radius = cfg.blur_radius > 0 ? std::sqrt(cfg.blur_radius) : 0.0;
  const T blur = static_cast<T>(cfg.blur_radius);
  std::fill(L.cnt.begin(), L.cnt.end(), 0);
  for (int64_t f = 0; f < cfg.F; ++f)
    L.ok[f] = setup_topk_face(cfg, vb, faces, f, radius, L.geo[f], &L.izs[f * 3]);

  if constexpr (std::is_same<T, float>::value) {
    if (cfg.simd) {
      simd::topk_traverse_avx2(L.geo.data(), L.izs.data(), L.ok.data(), cfg.F, L.xs.data(),
                               L.ys.data(), W, K, blur, static_cast<float>(cfg.znear),
                               cfg.perspective_correct, clips(cfg), cfg.stop_at_opaque, L.lz.data(),
                               L.lf.data(), L.lp.data(), L.cnt.data());
      return;
    }
  }

  for (int64_t f = 0; f < cfg.F; ++f) {
    if (!L.ok[f]) continue;
    const FaceGeom<T>& g = L.geo[f];
    const T* iz = &L.izs[f * 3];
    const int32_t fid = static_cast<int32_t>(f);
    for (int32_t i = g.i0; i <= g.i1; ++i) {
      const T py = L.ys[i];
      for (int32_t j = g.j0; j <= g.j1; ++j) {
        const T px = L.xs[j];
        T cr[3], wc[3], u, zc;
        if (!edges_inside(g, px, py, cr) && !(outside_d2(g, px, py, cr, blur) < blur))
          continue;
        if (!pair_depth(g, cr, cfg, iz, wc, u, zc)) continue;
        const int64_t p = i * W + j;
        T* z = L.lz.data() + p * K;
        int32_t* fl = L.lf.data() + p * K;
        int32_t& n = L.cnt[p];
        T* pl = L.lp.data() + p * K * 4;
        int32_t probe = n;  // refused() counts overflow; insert() below counts again
        if (refused(zc, fid, K, cfg.stop_at_opaque, z, fl, pl, probe)) {
          n = probe;  // a candidate beyond K: counted, not evaluated
          continue;
        }
        Sample<T> s;
        eval_pair(g, px, py, cfg, iz, s);
        const T pay[4] = {s.b[0], s.b[1], s.b[2], s.dist};
        insert(zc, fid, pay, K, cfg.stop_at_opaque, z, fl, pl, n);
      }
    }
  }
}

}  // namespace topk_detail
}  // namespace raster
}  // namespace rc
