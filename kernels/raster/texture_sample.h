// Texture sampling shared by the portable fused kernels (layered.cpp, hard.cpp): grid_sample's
// bilinear lookup (align_corners = false, border padding) on a (C, Ht, Wt) texture, its
// backward, and a slot's UV from barycentrics. Only for portable translation units: an
// inline function also compiled under an AVX2 target pragma could be merged by the linker
// into the AVX2 copy (see topk_avx2.cpp); layered_avx2.cpp keeps its own vector form.
#pragma once

#include <cstdint>

namespace rc {
namespace raster {
namespace texture_detail {

// Source coordinate of grid_sample (align_corners = false, border padding) for a texture
// coordinate u in [0, 1] (grid = 2u - 1), and d(coordinate)/du: 0 where it was clamped.
template <typename T>
inline T texel_coord(T u, int64_t size, T& grad) {
  const T x = u * T(2) - T(1);
  const T ix = ((x + T(1)) * T(size) - T(1)) / T(2);
  if (!(ix > T(0))) {  // also NaN
    grad = T(0);
    return T(0);
  }
  const T lim = static_cast<T>(size - 1);
  if (!(ix < lim)) {
    grad = T(0);
    return lim;
  }
  grad = static_cast<T>(size);
  return ix;
}

// One bilinear lookup: the north-west tap, the clamped coordinates and their derivatives.
template <typename T>
struct Tap {
  int64_t x0, y0;
  T ix, iy, gx, gy;
};

template <typename T>
inline void tap_at(T u, T v, int64_t Ht, int64_t Wt, Tap<T>& t) {
  t.ix = texel_coord(u, Wt, t.gx);
  t.iy = texel_coord(v, Ht, t.gy);
  t.x0 = static_cast<int64_t>(t.ix);  // ix >= 0: truncation is floor
  t.y0 = static_cast<int64_t>(t.iy);
}

// The four taps of a lookup. A tap past the last column (row) only occurs when the coordinate
// sits exactly on that column (row), where its weight is 0 and the coordinate was clamped
// (zero derivative): it is read from the last column instead, which changes nothing and
// needs no branch. grid_sample reads such taps as 0; both give the same values and gradients.
template <typename T>
struct Quad {
  int64_t at, dx, dy;  // offset of the north-west tap, steps to the east and south taps
  T e, w, s, n;        // weights: west/east columns (e for x0, w for x0+1), rows y0 (s), y0+1 (n)
};

template <typename T>
inline Quad<T> quad(const Tap<T>& t, int64_t Ht, int64_t Wt) {
  Quad<T> q;
  const T fx0 = static_cast<T>(t.x0), fy0 = static_cast<T>(t.y0);
  q.e = fx0 + T(1) - t.ix;
  q.w = t.ix - fx0;
  q.s = fy0 + T(1) - t.iy;
  q.n = t.iy - fy0;
  q.at = t.y0 * Wt + t.x0;
  q.dx = t.x0 + 1 < Wt ? 1 : 0;
  q.dy = t.y0 + 1 < Ht ? Wt : 0;
  return q;
}

// out[c] for the C channels of tex (C, Ht, Wt). NC > 0 fixes C at compile time (unrolled).
template <int NC, typename T>
inline void bilinear(const T* tex, int64_t C_, int64_t Ht, int64_t Wt, const Tap<T>& t, T* out) {
  const int64_t C = NC > 0 ? NC : C_;
  const Quad<T> k = quad(t, Ht, Wt);
  const T wnw = k.e * k.s, wne = k.w * k.s, wsw = k.e * k.n, wse = k.w * k.n;
  const int64_t plane = Ht * Wt;
  for (int64_t c = 0; c < C; ++c) {
    const T* q = tex + c * plane + k.at;
    out[c] = q[0] * wnw + q[k.dx] * wne + q[k.dy] * wsw + q[k.dx + k.dy] * wse;
  }
}

// Backward of `bilinear` for dL/dout = g: adds into gtex, returns dL/du and dL/dv.
template <int NC, typename T>
inline void bilinear_backward(const T* tex, int64_t C_, int64_t Ht, int64_t Wt, const Tap<T>& t,
                              const T* g, T* gtex, T& gu, T& gv) {
  const int64_t C = NC > 0 ? NC : C_;
  const Quad<T> k = quad(t, Ht, Wt);
  const T wnw = k.e * k.s, wne = k.w * k.s, wsw = k.e * k.n, wse = k.w * k.n;
  const int64_t plane = Ht * Wt, se = k.dx + k.dy;
  T gix = 0, giy = 0;
  for (int64_t c = 0; c < C; ++c) {
    const T* q = tex + c * plane + k.at;
    T* o = gtex + c * plane + k.at;
    const T gc = g[c];
    const T v00 = q[0], v01 = q[k.dx], v10 = q[k.dy], v11 = q[se];
    gix += gc * ((v01 - v00) * k.s + (v11 - v10) * k.n);
    giy += gc * ((v10 - v00) * k.e + (v11 - v01) * k.w);
    // one tap at a time: at the last column/row taps coincide and must all be added
    o[0] += gc * wnw;
    o[k.dx] += gc * wne;
    o[k.dy] += gc * wsw;
    o[se] += gc * wse;
  }
  gu = gix * t.gx;
  gv = giy * t.gy;
}

// UV of a slot: the face's corner UVs (3, 2) weighted by the output barycentrics.
template <typename T>
inline void slot_uv(const T* fuv, const T b[3], T& u, T& v) {
  u = b[0] * fuv[0] + b[1] * fuv[2] + b[2] * fuv[4];
  v = b[0] * fuv[1] + b[1] * fuv[3] + b[2] * fuv[5];
}

}  // namespace texture_detail
}  // namespace raster
}  // namespace rc
