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
#include <vector>

#include "face_geometry.h"
#include "raster_kernels.h"

namespace rc {
namespace raster {

namespace {

// Barycentrics (screen or perspective-correct), depth and signed squared distance of one
// pair; returns false when the pair is not a candidate.
template <typename T>
struct Sample {
  PointFace<T> o;
  T w[3];   // screen barycentrics
  T b[3];   // output barycentrics (= w, or perspective-corrected)
  T u;      // perspective: sum_k w_k / z_k
  T z;
  T dist;   // -d2 inside, +d2 outside
};

template <typename T>
inline bool sample(const FaceGeom<T>& g, T px, T py, const TopKConfig& cfg, T blur,
                   Sample<T>& s) {
  point_face(g, px, py, s.o);
  if (!s.o.inside && !(s.o.d2 < blur)) return false;
  barycentrics(g, s.o, s.w);
  if (cfg.perspective_correct) {
    T q[3] = {s.w[0] / g.z[0], s.w[1] / g.z[1], s.w[2] / g.z[2]};
    s.u = q[0] + q[1] + q[2];
    // Inside the face u >= 1/max z > 0; extrapolated (blur) pixels can drive it to 0 or
    // below, where depth is meaningless: drop them instead of dividing.
    if (!(s.u > T(1e-12))) return false;
    s.z = T(1) / s.u;
    for (int k = 0; k < 3; ++k) s.b[k] = q[k] * s.z;
  } else {
    s.u = 0;
    s.z = s.w[0] * g.z[0] + s.w[1] * g.z[1] + s.w[2] * g.z[2];
    for (int k = 0; k < 3; ++k) s.b[k] = s.w[k];
  }
  if (!(s.z > T(cfg.znear)) || !std::isfinite(static_cast<double>(s.z))) return false;
  s.dist = s.o.inside ? -s.o.d2 : s.o.d2;
  return true;
}

template <typename T>
bool setup_topk_face(const TopKConfig& cfg, const T* vb, const int64_t* faces, int64_t f,
                     double radius, FaceGeom<T>& g) {
  const int64_t* fi = faces + f * 3;
  if (!setup_face(vb + fi[0] * 3, vb + fi[1] * 3, vb + fi[2] * 3, cfg.znear, radius, cfg.H,
                  cfg.W, g))
    return false;
  if (g.sgn == 0) return false;  // no barycentrics without area
  if (cfg.cull_backfaces && !g.front) return false;
  g.face = static_cast<int32_t>(f);
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
  std::vector<uint8_t> ok(static_cast<size_t>(cfg.F));
  std::vector<T> lz(static_cast<size_t>(HW * K));
  std::vector<int32_t> lf(static_cast<size_t>(HW * K));
  std::vector<int32_t> cnt(static_cast<size_t>(HW));

  for (int64_t b = b0; b < b1; ++b) {
    const T* vb = verts + b * cfg.V * 3;
    std::fill(cnt.begin(), cnt.end(), 0);
    for (int64_t f = 0; f < cfg.F; ++f) ok[f] = setup_topk_face(cfg, vb, faces, f, radius, geo[f]);

    for (int64_t f = 0; f < cfg.F; ++f) {
      if (!ok[f]) continue;
      const FaceGeom<T>& g = geo[f];
      const int32_t fid = static_cast<int32_t>(f);
      for (int32_t i = g.i0; i <= g.i1; ++i) {
        for (int32_t j = g.j0; j <= g.j1; ++j) {
          Sample<T> s;
          if (!sample(g, xs[j], ys[i], cfg, blur, s)) continue;
          const int64_t p = i * W + j;
          T* z = lz.data() + p * K;
          int32_t* fl = lf.data() + p * K;
          int32_t& n = cnt[p];
          // (z, face) order: ties broken by the face index, independent of visit order
          int32_t pos;
          if (n < K) {
            pos = n++;
          } else {
            ++n;  // counts candidates beyond K for the overflow report
            const int64_t last = K - 1;
            if (!(s.z < z[last] || (s.z == z[last] && fid < fl[last]))) continue;
            pos = static_cast<int32_t>(last);
          }
          while (pos > 0 && (s.z < z[pos - 1] || (s.z == z[pos - 1] && fid < fl[pos - 1]))) {
            z[pos] = z[pos - 1];
            fl[pos] = fl[pos - 1];
            --pos;
          }
          z[pos] = s.z;
          fl[pos] = fid;
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
      const T px = xs[p % W], py = ys[p / W];
      for (int64_t k = 0; k < K; ++k) {
        const int64_t slot = p * K + k;
        if (k < n) {
          const int32_t f = lf[slot];
          Sample<T> s{};
          sample(geo[f], px, py, cfg, blur, s);  // same call as during the traversal
          p2f[slot] = f;
          for (int c = 0; c < 3; ++c) bo[slot * 3 + c] = s.b[c];
          zo[slot] = s.z;
          dout[slot] = s.dist;
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
  const T blur = static_cast<T>(cfg.blur_radius);
  std::vector<T> xs, ys;
  pixel_centres(W, xs);
  pixel_centres(H, ys);
  std::vector<FaceGeom<T>> geo(static_cast<size_t>(cfg.F));
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
          ok[f] = setup_topk_face(cfg, vb, faces, f, radius, geo[f]) ? 1 : 2;
        }
        if (ok[f] != 1) continue;
        const FaceGeom<T>& g = geo[f];
        Sample<T> s;
        if (!sample(g, px, py, cfg, blur, s)) continue;
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
