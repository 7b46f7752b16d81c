// Per-face setup and per-(pixel, face) geometry shared by the scalar kernels.
// Internal header of the raster kernels: plain C++, no torch.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace rc {
namespace raster {

// Faces smaller than this (doubled NDC area) have no interior and no barycentrics: the
// soft kernels still give them a distance-based coverage, the top-K kernel skips them.
constexpr double kDegenerateArea2 = 1e-10;
// Edges shorter than this (squared) are treated as points, so the projection never divides
// by zero (duplicate vertices).
constexpr double kPointEdge2 = 1e-20;
// Faces with a projected |x| or |y| beyond this are dropped like near-plane crossers: in
// float32 the products of such coordinates overflow to inf and then NaN.
constexpr double kMaxCoord = 1e15;

// One face after setup. Edge k runs from vertex k to vertex k+1 (mod 3).
// Laid out so the SIMD kernel can broadcast fields straight from it.
template <typename T>
struct FaceGeom {
  T x[3], y[3], z[3];
  T ex[3], ey[3];
  T il2[3];      // 1/|e_k|^2, 0 for a point edge
  T area2;       // doubled signed screen area
  T inv_area2;   // 0 when degenerate
  T sgn;         // sign(area2) for the inside test, 0 when degenerate (never inside)
  int32_t i0, i1, j0, j1;  // inclusive pixel rows / columns to visit
  int32_t face;  // index within the mesh
  int32_t front; // 1 if front-facing (area2 < 0)
};

// Pixel-centre coordinates; padded by 8 so SIMD loads past the last column stay in bounds.
template <typename T>
inline void pixel_centres(int64_t n, std::vector<T>& out) {
  out.assign(static_cast<size_t>(n + 8), T(0));
  for (int64_t k = 0; k < n + 8; ++k) out[k] = static_cast<T>((2.0 * k + 1.0) / n - 1.0);
}

// Inclusive index range of pixel centres c_k = (2k+1)/n - 1 inside [lo, hi], clamped to the
// image; computed in double and clamped before the integer conversion so huge or infinite
// coordinates cannot overflow. Returns false when empty.
inline bool pixel_range(double lo, double hi, int64_t n, int32_t& k0, int32_t& k1) {
  // clamp first (NaN-safe), then ceil/floor by truncation: baseline x86-64 has no rounding
  // instruction, and libm calls here cost more than the rest of the face setup
  double a = ((lo + 1.0) * n - 1.0) * 0.5;
  double b = ((hi + 1.0) * n - 1.0) * 0.5;
  a = a > -1.0 ? (a < double(n) ? a : double(n)) : -1.0;
  b = b > -1.0 ? (b < double(n) ? b : double(n)) : -1.0;
  int32_t ia = static_cast<int32_t>(a), ib = static_cast<int32_t>(b);
  ia += (a > ia) ? 1 : 0;  // ceil
  ib -= (b < ib) ? 1 : 0;  // floor
  if (ia < 0) ia = 0;
  if (ib > n - 1) ib = static_cast<int32_t>(n - 1);
  if (ia > ib) return false;
  k0 = ia;
  k1 = ib;
  return true;
}

// The geometric fields of g (everything but the pixel range and the face index), for a face
// already known to pass setup_face's checks: backward passes use it for faces that the
// forward rasterized, and get bit-identical values.
template <typename T>
inline void face_geometry(const T* v0, const T* v1, const T* v2, FaceGeom<T>& g) {
  const T* v[3] = {v0, v1, v2};
  for (int k = 0; k < 3; ++k) {
    g.x[k] = v[k][0];
    g.y[k] = v[k][1];
    g.z[k] = v[k][2];
  }
  for (int k = 0; k < 3; ++k) {
    int n = (k + 1) % 3;
    g.ex[k] = g.x[n] - g.x[k];
    g.ey[k] = g.y[n] - g.y[k];
    T l2 = g.ex[k] * g.ex[k] + g.ey[k] * g.ey[k];
    g.il2[k] = l2 > T(kPointEdge2) ? T(1) / l2 : T(0);
  }
  g.area2 = g.ex[0] * (g.y[2] - g.y[0]) - g.ey[0] * (g.x[2] - g.x[0]);
  bool degenerate = !(std::abs(static_cast<double>(g.area2)) > kDegenerateArea2);
  g.inv_area2 = degenerate ? T(0) : T(1) / g.area2;
  g.sgn = degenerate ? T(0) : (g.area2 > 0 ? T(1) : T(-1));
  g.front = g.area2 < 0 ? 1 : 0;
}

// Fills g from three vertices. `radius` widens the pixel bbox (blur / soft cut-off).
// Returns false if the face is culled (non-finite, any z <= znear, |x|,|y| > kMaxCoord, or
// off-screen).
template <typename T>
inline bool setup_face(const T* v0, const T* v1, const T* v2, double znear, double radius,
                       int64_t H, int64_t W, FaceGeom<T>& g) {
  const T* v[3] = {v0, v1, v2};
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c)
      if (!std::isfinite(static_cast<double>(v[k][c]))) return false;
  for (int k = 0; k < 3; ++k) {
    if (!(static_cast<double>(v[k][2]) > znear)) return false;
    if (!(std::abs(static_cast<double>(v[k][0])) <= kMaxCoord) ||
        !(std::abs(static_cast<double>(v[k][1])) <= kMaxCoord))
      return false;
  }
  face_geometry(v0, v1, v2, g);
  double xmin = std::min({double(g.x[0]), double(g.x[1]), double(g.x[2])}) - radius;
  double xmax = std::max({double(g.x[0]), double(g.x[1]), double(g.x[2])}) + radius;
  double ymin = std::min({double(g.y[0]), double(g.y[1]), double(g.y[2])}) - radius;
  double ymax = std::max({double(g.y[0]), double(g.y[1]), double(g.y[2])}) + radius;
  if (!pixel_range(xmin, xmax, W, g.j0, g.j1)) return false;
  if (!pixel_range(ymin, ymax, H, g.i0, g.i1)) return false;
  return true;
}

// Result of the point-face query. d2 is the squared Euclidean distance from p to the face
// boundary (min over the three clamped segments); for an interior point this equals the
// distance to the nearest edge line. The closest point is q = (1-t) v_a + t v_b on edge
// `edge` (a = edge, b = edge+1), and (rx, ry) = p - q, which is all the backward needs
// (envelope theorem: d(d2)/dv_a = -2 (1-t) r, d(d2)/dv_b = -2 t r).
template <typename T>
struct PointFace {
  T d2;
  T t, rx, ry;
  int edge;
  bool inside;
  T cr[3];  // edge functions: barycentric of vertex (k+2)%3 is cr[k] * inv_area2
};

template <typename T>
inline void point_face(const FaceGeom<T>& g, T px, T py, PointFace<T>& o) {
  o.d2 = std::numeric_limits<T>::infinity();
  o.edge = 0;
  o.t = 0;
  o.rx = o.ry = 0;
  for (int k = 0; k < 3; ++k) {
    T dx = px - g.x[k], dy = py - g.y[k];
    T t = (dx * g.ex[k] + dy * g.ey[k]) * g.il2[k];
    t = std::min(std::max(t, T(0)), T(1));
    T rx = dx - t * g.ex[k], ry = dy - t * g.ey[k];
    T d2 = rx * rx + ry * ry;
    if (d2 < o.d2) {
      o.d2 = d2;
      o.edge = k;
      o.t = t;
      o.rx = rx;
      o.ry = ry;
    }
    o.cr[k] = g.ex[k] * dy - g.ey[k] * dx;
  }
  o.inside = g.sgn != 0 && o.cr[0] * g.sgn > 0 && o.cr[1] * g.sgn > 0 && o.cr[2] * g.sgn > 0;
}

// Screen-space barycentrics (w0, w1, w2) of a non-degenerate face.
template <typename T>
inline void barycentrics(const FaceGeom<T>& g, const PointFace<T>& o, T w[3]) {
  w[0] = o.cr[1] * g.inv_area2;
  w[1] = o.cr[2] * g.inv_area2;
  w[2] = o.cr[0] * g.inv_area2;
}

// Accumulates d(d2)/d(vertex xy) * gd2 into gxy[3][2] (closest-point chain rule).
template <typename T>
inline void backprop_d2(const PointFace<T>& o, T gd2, T gxy[3][2]) {
  int a = o.edge, b = (o.edge + 1) % 3;
  T s = T(-2) * gd2;
  T wa = s * (T(1) - o.t), wb = s * o.t;
  gxy[a][0] += wa * o.rx;
  gxy[a][1] += wa * o.ry;
  gxy[b][0] += wb * o.rx;
  gxy[b][1] += wb * o.ry;
}

// Accumulates the vertex-xy gradient of the screen barycentrics given gw = dL/dw.
// w_m = cr_k / A with m = (k+2)%3 and A = sum_k cr_k (an identity in p), so
// dL/dcr_k = gw_m / A - sum_m gw_m w_m / A.
template <typename T>
inline void backprop_bary(const FaceGeom<T>& g, T px, T py, const T w[3], const T gw[3],
                          T gxy[3][2]) {
  T gA = -(gw[0] * w[0] + gw[1] * w[1] + gw[2] * w[2]) * g.inv_area2;
  for (int k = 0; k < 3; ++k) {
    int m = (k + 2) % 3, n = (k + 1) % 3;
    T gc = gw[m] * g.inv_area2 + gA;
    // cr_k = (x_n - x_k)(py - y_k) - (y_n - y_k)(px - x_k)
    gxy[n][0] += gc * (py - g.y[k]);
    gxy[n][1] -= gc * (px - g.x[k]);
    gxy[k][0] += gc * (g.y[n] - py);
    gxy[k][1] += gc * (px - g.x[n]);
  }
}

}  // namespace raster
}  // namespace rc
