// AVX2+FMA blend and backward of the fused layered render (float32, 3 channels, K <= 8).
//
// The scalar backward spends ~730 instructions per filled slot, one slot at a time, and a
// covered pixel holds ~6-7 slots in UNICORN's setting (tiny faces, a one-pixel blur radius).
// Here the slots of one pixel are the lanes of one vector: the pair geometry, alpha, UVs and
// texels are gathered and computed for all of them at once, the blend recursions (T, S, U:
// sequential, a few flops per slot) run scalar over the lanes, and the texel, barycentric
// and distance chains run vectorised again. Only the final += into grad_tex and grad_verts is
// per lane (lanes may share texels and vertices), in the scalar path's order (back to front).
// Same formulas as layered.cpp / topk_lists.h; results differ from them by rounding only.
//
// Compiled for AVX2 by target pragma and reached only when the CPU has it. Nothing here
// instantiates a shared template (see avx2_math.h).
#include "layered_simd.h"

#include <cstddef>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "avx2_math.h"

namespace rc {
namespace raster {
namespace simd {
namespace {

using Geo = FaceGeom<float>;
static_assert(sizeof(Geo) % sizeof(float) == 0, "FaceGeom<float> must be whole floats");
constexpr int kStride = sizeof(Geo) / sizeof(float);
constexpr int kX = offsetof(Geo, x) / sizeof(float), kY = offsetof(Geo, y) / sizeof(float),
              kEx = offsetof(Geo, ex) / sizeof(float), kEy = offsetof(Geo, ey) / sizeof(float),
              kIl2 = offsetof(Geo, il2) / sizeof(float),
              kInvArea = offsetof(Geo, inv_area2) / sizeof(float),
              kSgn = offsetof(Geo, sgn) / sizeof(float);

static inline __m256 gather(const float* base, __m256i index) {
  return _mm256_i32gather_ps(base, index, 4);
}

static inline __m256 select(__m256 mask, __m256 yes, __m256 no) {
  return _mm256_blendv_ps(no, yes, mask);
}

// Source coordinate of grid_sample (align_corners = false, border) for u in [0,1] and its
// derivative (0 where clamped, also for NaN), as texel_coord in layered.cpp.
static inline __m256 texel_coord(__m256 u, __m256 size, __m256 last, __m256& grad) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 x = _mm256_fmsub_ps(u, _mm256_set1_ps(2.f), one);
  const __m256 ix =
      _mm256_mul_ps(_mm256_fmsub_ps(_mm256_add_ps(x, one), size, one), _mm256_set1_ps(0.5f));
  const __m256 above = _mm256_cmp_ps(ix, _mm256_setzero_ps(), _CMP_GT_OQ);
  const __m256 below = _mm256_cmp_ps(ix, last, _CMP_LT_OQ);
  grad = _mm256_and_ps(_mm256_and_ps(above, below), size);
  return _mm256_and_ps(above, select(below, ix, last));
}

// The texture side of a vector of slots: face UVs, the slot UV from the output barycentrics,
// grid_sample's bilinear taps, the texel per channel and its derivatives in the tap
// coordinates (d colour / d ix, d iy), as layered.cpp's slot_uv, tap_at and bilinear.
struct TexConsts {
  int64_t plane;
  __m256 wt, ht, lastx, lasty;
  __m256i iwt, iht;
  TexConsts(int64_t Ht, int64_t Wt)
      : plane(Ht * Wt),
        wt(_mm256_set1_ps(static_cast<float>(Wt))),
        ht(_mm256_set1_ps(static_cast<float>(Ht))),
        lastx(_mm256_set1_ps(static_cast<float>(Wt - 1))),
        lasty(_mm256_set1_ps(static_cast<float>(Ht - 1))),
        iwt(_mm256_set1_epi32(static_cast<int32_t>(Wt))),
        iht(_mm256_set1_epi32(static_cast<int32_t>(Ht))) {}
};

struct Texels {
  __m256 fu[3], fv[3];          // corner UVs
  __m256 gxs, gys;              // d ix / du, d iy / dv (0 where clamped)
  __m256 wnw, wne, wsw, wse;    // tap weights
  __m256i nw, sx, sy;           // north-west tap offset, steps east and south
  __m256 col[3], tdx[3], tdy[3];
};

static inline void texels(const float* face_uvs, __m256i fi, const __m256 b[3], const float* tex,
                          const TexConsts& k, Texels& o) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256i ione = _mm256_set1_epi32(1);
  const __m256i i6 = _mm256_mullo_epi32(fi, _mm256_set1_epi32(6));
  for (int c = 0; c < 3; ++c) {
    o.fu[c] = gather(face_uvs + 2 * c, i6);
    o.fv[c] = gather(face_uvs + 2 * c + 1, i6);
  }
  const __m256 u = _mm256_fmadd_ps(b[2], o.fu[2], _mm256_fmadd_ps(b[1], o.fu[1], _mm256_mul_ps(b[0], o.fu[0])));
  const __m256 v = _mm256_fmadd_ps(b[2], o.fv[2], _mm256_fmadd_ps(b[1], o.fv[1], _mm256_mul_ps(b[0], o.fv[0])));
  const __m256 ix = texel_coord(u, k.wt, k.lastx, o.gxs), iy = texel_coord(v, k.ht, k.lasty, o.gys);
  const __m256i x0 = _mm256_cvttps_epi32(ix), y0 = _mm256_cvttps_epi32(iy);
  const __m256 fx0 = _mm256_cvtepi32_ps(x0), fy0 = _mm256_cvtepi32_ps(y0);
  const __m256 we = _mm256_sub_ps(_mm256_add_ps(fx0, one), ix), ww = _mm256_sub_ps(ix, fx0);
  const __m256 ws = _mm256_sub_ps(_mm256_add_ps(fy0, one), iy), wn = _mm256_sub_ps(iy, fy0);
  o.nw = _mm256_add_epi32(_mm256_mullo_epi32(y0, k.iwt), x0);
  // a tap past the last column/row reads the last one (its weight is 0), as layered.cpp
  o.sx = _mm256_and_si256(_mm256_cmpgt_epi32(k.iwt, _mm256_add_epi32(x0, ione)), ione);
  o.sy = _mm256_and_si256(_mm256_cmpgt_epi32(k.iht, _mm256_add_epi32(y0, ione)), k.iwt);
  const __m256i ne = _mm256_add_epi32(o.nw, o.sx), sw = _mm256_add_epi32(o.nw, o.sy),
                se = _mm256_add_epi32(ne, o.sy);
  o.wnw = _mm256_mul_ps(we, ws);
  o.wne = _mm256_mul_ps(ww, ws);
  o.wsw = _mm256_mul_ps(we, wn);
  o.wse = _mm256_mul_ps(ww, wn);
  for (int c = 0; c < 3; ++c) {
    const float* q = tex + c * k.plane;
    const __m256 q00 = gather(q, o.nw), q01 = gather(q, ne), q10 = gather(q, sw),
                 q11 = gather(q, se);
    o.col[c] = _mm256_fmadd_ps(q11, o.wse, _mm256_fmadd_ps(q10, o.wsw,
                   _mm256_fmadd_ps(q01, o.wne, _mm256_mul_ps(q00, o.wnw))));
    o.tdx[c] = _mm256_fmadd_ps(_mm256_sub_ps(q11, q10), wn, _mm256_mul_ps(_mm256_sub_ps(q01, q00), ws));
    o.tdy[c] = _mm256_fmadd_ps(_mm256_sub_ps(q11, q01), ww, _mm256_mul_ps(_mm256_sub_ps(q10, q00), we));
  }
}

}  // namespace

void layered_forward_image_avx2(const LayeredImageForward& a) {
  const TexConsts tc(a.Ht, a.Wt);
  const __m256 nis = _mm256_set1_ps(a.neg_inv_sigma), one = _mm256_set1_ps(1.f);
  const __m256i four = _mm256_set1_epi32(4);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  alignas(32) int32_t face[8];
  alignas(32) float al[8], col[3][8];
  for (int64_t p = 0; p < a.HW; ++p) {
    const int32_t n = a.cnt[p] < a.K ? a.cnt[p] : static_cast<int32_t>(a.K);
    float tr = 1.f, acc[3] = {0.f, 0.f, 0.f};
    if (n > 0) {
      const int32_t* lf = a.lf + p * a.K;
      const float* lp = a.lp + p * a.K * 4;
      for (int j = 0; j < 8; ++j) face[j] = lf[j < n ? j : 0];
      const __m256i fi = _mm256_load_si256(reinterpret_cast<const __m256i*>(face));
      // payload (b0, b1, b2, dist) per slot; lanes past n read slot 0
      const __m256i at = _mm256_mullo_epi32(
          _mm256_and_si256(lanes, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes)), four);
      const __m256 b[3] = {gather(lp, at), gather(lp + 1, at), gather(lp + 2, at)};
      const __m256 d = gather(lp + 3, at);
      const __m256 outside = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_GT_OQ);
      _mm256_store_ps(al, select(outside, exp_nonpos(_mm256_mul_ps(d, nis)), one));
      Texels tx;
      texels(a.face_uvs, fi, b, a.tex, tc, tx);
      for (int c = 0; c < 3; ++c) _mm256_store_ps(col[c], tx.col[c]);
      for (int32_t j = 0; j < n && tr > 0.f; ++j) {  // behind an opaque layer a colour adds 0
        const float wgt = tr * al[j];
        for (int c = 0; c < 3; ++c) acc[c] += wgt * col[c][j];
        tr *= 1.f - al[j];
      }
    }
    for (int c = 0; c < 3; ++c) a.rgb[c * a.HW + p] = acc[c] + tr * a.background[c];
    a.alpha[p] = 1.f - tr;
  }
}

void layered_backward_image_avx2(const LayeredImageBackward& a) {
  const int64_t HW = a.H * a.W, plane = a.Ht * a.Wt;
  const float* gb = reinterpret_cast<const float*>(a.geo);
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
  const __m256 nis = _mm256_set1_ps(a.neg_inv_sigma);
  const TexConsts tc(a.Ht, a.Wt);
  alignas(32) int32_t face[8], at[8], stepx[8], stepy[8];
  alignas(32) float al[8], dist[8], col[3][8], da[8], wgt[8], gcol[3][8], wts[4][8];
  alignas(32) float gvx[3][8], gvy[3][8], gvz[3][8];
  const int32_t* fs = a.slots;
  for (int64_t p = 0; p < HW; ++p) {
    const int32_t n = a.counts[p];
    if (n == 0) continue;
    const int32_t* pf = fs;
    fs += n;
    // lanes past n repeat slot 0, so every gather stays in bounds; their results are unused
    for (int j = 0; j < 8; ++j) face[j] = pf[j < n ? j : 0];
    const __m256i fi = _mm256_load_si256(reinterpret_cast<const __m256i*>(face));
    const __m256i gi = _mm256_mullo_epi32(fi, _mm256_set1_epi32(kStride));
    const __m256 px = _mm256_set1_ps(a.xs[p % a.W]), py = _mm256_set1_ps(a.ys[p / a.W]);

    // the pair: closest boundary point (point_face), edge functions, inside test
    __m256 x[3], y[3], dx[3], dy[3], cr[3];
    __m256 d2 = _mm256_set1_ps(__builtin_inff()), t = zero, rx = zero, ry = zero, edge = zero;
    for (int k = 0; k < 3; ++k) {
      x[k] = gather(gb + kX + k, gi);
      y[k] = gather(gb + kY + k, gi);
      const __m256 ex = gather(gb + kEx + k, gi), ey = gather(gb + kEy + k, gi);
      dx[k] = _mm256_sub_ps(px, x[k]);
      dy[k] = _mm256_sub_ps(py, y[k]);
      __m256 tk = _mm256_mul_ps(_mm256_fmadd_ps(dx[k], ex, _mm256_mul_ps(dy[k], ey)),
                                gather(gb + kIl2 + k, gi));
      tk = _mm256_min_ps(_mm256_max_ps(tk, zero), one);
      const __m256 rxk = _mm256_fnmadd_ps(tk, ex, dx[k]), ryk = _mm256_fnmadd_ps(tk, ey, dy[k]);
      const __m256 d2k = _mm256_fmadd_ps(rxk, rxk, _mm256_mul_ps(ryk, ryk));
      const __m256 closer = _mm256_cmp_ps(d2k, d2, _CMP_LT_OQ);
      d2 = select(closer, d2k, d2);
      t = select(closer, tk, t);
      rx = select(closer, rxk, rx);
      ry = select(closer, ryk, ry);
      edge = select(closer, _mm256_set1_ps(static_cast<float>(k)), edge);
      cr[k] = _mm256_fmsub_ps(ex, dy[k], _mm256_mul_ps(ey, dx[k]));
    }
    const __m256 sgn = gather(gb + kSgn, gi), ia = gather(gb + kInvArea, gi);
    __m256 inside = _mm256_cmp_ps(_mm256_mul_ps(cr[0], sgn), zero, _CMP_GT_OQ);
    inside = _mm256_and_ps(inside, _mm256_cmp_ps(_mm256_mul_ps(cr[1], sgn), zero, _CMP_GT_OQ));
    inside = _mm256_and_ps(inside, _mm256_cmp_ps(_mm256_mul_ps(cr[2], sgn), zero, _CMP_GT_OQ));
    const __m256 w[3] = {_mm256_mul_ps(cr[1], ia), _mm256_mul_ps(cr[2], ia),
                         _mm256_mul_ps(cr[0], ia)};
    // clipped barycentrics (topk_lists.h's clip_bary) in the lanes with a negative one
    __m256 wc[3] = {w[0], w[1], w[2]}, clipped = zero, csum = one;
    if (a.clip) {
      clipped = _mm256_or_ps(_mm256_or_ps(_mm256_cmp_ps(w[0], zero, _CMP_LT_OQ),
                                          _mm256_cmp_ps(w[1], zero, _CMP_LT_OQ)),
                             _mm256_cmp_ps(w[2], zero, _CMP_LT_OQ));
      const __m256 m0 = _mm256_max_ps(w[0], zero), m1 = _mm256_max_ps(w[1], zero),
                   m2 = _mm256_max_ps(w[2], zero);
      csum = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
      wc[0] = select(clipped, _mm256_div_ps(m0, csum), w[0]);
      wc[1] = select(clipped, _mm256_div_ps(m1, csum), w[1]);
      wc[2] = select(clipped, _mm256_div_ps(m2, csum), w[2]);
    }
    __m256 b[3] = {wc[0], wc[1], wc[2]}, iz[3] = {zero, zero, zero}, z = zero;
    if (a.perspective) {
      const __m256i i3 = _mm256_mullo_epi32(fi, _mm256_set1_epi32(3));
      for (int k = 0; k < 3; ++k) iz[k] = gather(a.izs + k, i3);
      __m256 u = _mm256_fmadd_ps(wc[2], iz[2], _mm256_fmadd_ps(wc[1], iz[1], _mm256_mul_ps(wc[0], iz[0])));
      u = _mm256_max_ps(u, _mm256_set1_ps(1e-12f));
      z = _mm256_div_ps(one, u);
      for (int k = 0; k < 3; ++k) b[k] = _mm256_mul_ps(_mm256_mul_ps(wc[k], iz[k]), z);
    }
    const __m256 d = select(inside, _mm256_sub_ps(zero, d2), d2);
    const __m256 outside = _mm256_cmp_ps(d, zero, _CMP_GT_OQ);
    const __m256 alpha = select(outside, exp_nonpos(_mm256_mul_ps(d, nis)), one);

    // UV and the bilinear texel, with what the backward needs of it
    Texels tx;
    texels(a.face_uvs, fi, b, a.tex, tc, tx);
    const __m256 *fu = tx.fu, *fv = tx.fv;
    for (int c = 0; c < 3; ++c) _mm256_store_ps(col[c], tx.col[c]);
    _mm256_store_ps(al, alpha);
    _mm256_store_ps(dist, d);

    // the blend, forward and back, over the lanes (see layered.cpp)
    float gr[3];
    for (int c = 0; c < 3; ++c) gr[c] = a.grad_rgb ? a.grad_rgb[c * HW + p] : 0.f;
    const float ga = a.grad_alpha ? a.grad_alpha[p] : 0.f;
    float tb[8], tr = 1.f;
    int32_t m = n;
    for (int32_t j = 0; j < n; ++j) {
      tb[j] = tr;
      tr *= 1.f - al[j];
      if (!(dist[j] > 0.f)) {  // opaque: nothing behind it reaches a gradient
        m = j + 1;
        break;
      }
    }
    float S[3] = {a.background[0], a.background[1], a.background[2]}, U = 1.f;
    for (int j = 0; j < 8; ++j) da[j] = wgt[j] = 0.f;
    for (int32_t j = m - 1; j >= 0; --j) {
      const float aj = al[j];
      if (tb[j] > 0.f) {
        float dot = 0.f;
        for (int c = 0; c < 3; ++c) dot += gr[c] * (col[c][j] - S[c]);
        da[j] = tb[j] * (dot + ga * U);
        wgt[j] = tb[j] * aj;
      }
      for (int c = 0; c < 3; ++c) S[c] = aj * col[c][j] + (1.f - aj) * S[c];
      U *= 1.f - aj;
    }

    // texel, UV, barycentric and distance chains, vectorised
    const __m256 vda = _mm256_load_ps(da), vwgt = _mm256_load_ps(wgt);
    __m256 gix = zero, giy = zero;
    for (int c = 0; c < 3; ++c) {
      const __m256 g = _mm256_mul_ps(_mm256_set1_ps(gr[c]), vwgt);
      _mm256_store_ps(gcol[c], g);
      gix = _mm256_fmadd_ps(g, tx.tdx[c], gix);
      giy = _mm256_fmadd_ps(g, tx.tdy[c], giy);
    }
    const __m256 gu = _mm256_mul_ps(gix, tx.gxs), gv = _mm256_mul_ps(giy, tx.gys);
    const __m256 gd = _mm256_and_ps(outside, _mm256_mul_ps(_mm256_mul_ps(vda, alpha), nis));
    __m256 gw[3], gz[3] = {zero, zero, zero};
    for (int k = 0; k < 3; ++k) gw[k] = _mm256_fmadd_ps(gv, fv[k], _mm256_mul_ps(gu, fu[k]));
    if (a.perspective) {
      // b_k = (w_k iz_k) z, z = 1/u, u = sum_k w_k iz_k: through q_k = w_k iz_k
      const __m256 dot = _mm256_fmadd_ps(gw[2], b[2], _mm256_fmadd_ps(gw[1], b[1], _mm256_mul_ps(gw[0], b[0])));
      for (int k = 0; k < 3; ++k) {
        const __m256 gq = _mm256_mul_ps(_mm256_sub_ps(gw[k], dot), z);
        gw[k] = _mm256_mul_ps(gq, iz[k]);
        gz[k] = _mm256_sub_ps(zero, _mm256_mul_ps(_mm256_mul_ps(gq, wc[k]), _mm256_mul_ps(iz[k], iz[k])));
      }
    }
    if (a.clip) {  // clip_bary_backward: renormalisation, nothing through a clamped coordinate
      const __m256 dot = _mm256_fmadd_ps(gw[2], wc[2], _mm256_fmadd_ps(gw[1], wc[1], _mm256_mul_ps(gw[0], wc[0])));
      for (int k = 0; k < 3; ++k) {
        const __m256 through = _mm256_and_ps(_mm256_cmp_ps(w[k], zero, _CMP_GT_OQ),
                                             _mm256_div_ps(_mm256_sub_ps(gw[k], dot), csum));
        gw[k] = select(clipped, through, gw[k]);
      }
    }
    // barycentrics: w_m = cr_k / A (m = (k+2)%3), A = sum_k cr_k
    __m256 gx[3] = {zero, zero, zero}, gy[3] = {zero, zero, zero};
    const __m256 gA = _mm256_sub_ps(zero, _mm256_mul_ps(_mm256_fmadd_ps(gw[2], w[2],
                          _mm256_fmadd_ps(gw[1], w[1], _mm256_mul_ps(gw[0], w[0]))), ia));
    for (int k = 0; k < 3; ++k) {
      const int mk = (k + 2) % 3, nk = (k + 1) % 3;
      const __m256 gc = _mm256_fmadd_ps(gw[mk], ia, gA);
      gx[nk] = _mm256_fmadd_ps(gc, dy[k], gx[nk]);
      gy[nk] = _mm256_fnmadd_ps(gc, dx[k], gy[nk]);
      gx[k] = _mm256_fnmadd_ps(gc, dy[nk], gx[k]);
      gy[k] = _mm256_fmadd_ps(gc, dx[nk], gy[k]);
    }
    // distance: d2 = |p - q|^2 with q on edge (a, a+1) at t (envelope theorem)
    const __m256 s2 = _mm256_mul_ps(_mm256_set1_ps(-2.f), select(inside, _mm256_sub_ps(zero, gd), gd));
    const __m256 wa = _mm256_mul_ps(s2, _mm256_sub_ps(one, t)), wb = _mm256_mul_ps(s2, t);
    for (int k = 0; k < 3; ++k) {
      const __m256 on = _mm256_cmp_ps(edge, _mm256_set1_ps(static_cast<float>(k)), _CMP_EQ_OQ);
      const __m256 ga_ = _mm256_and_ps(on, wa), gb_ = _mm256_and_ps(on, wb);
      const int nk = (k + 1) % 3;
      gx[k] = _mm256_fmadd_ps(ga_, rx, gx[k]);
      gy[k] = _mm256_fmadd_ps(ga_, ry, gy[k]);
      gx[nk] = _mm256_fmadd_ps(gb_, rx, gx[nk]);
      gy[nk] = _mm256_fmadd_ps(gb_, ry, gy[nk]);
    }
    for (int k = 0; k < 3; ++k) {
      _mm256_store_ps(gvx[k], gx[k]);
      _mm256_store_ps(gvy[k], gy[k]);
      _mm256_store_ps(gvz[k], gz[k]);
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(at), tx.nw);
    _mm256_store_si256(reinterpret_cast<__m256i*>(stepx), tx.sx);
    _mm256_store_si256(reinterpret_cast<__m256i*>(stepy), tx.sy);
    _mm256_store_ps(wts[0], tx.wnw);
    _mm256_store_ps(wts[1], tx.wne);
    _mm256_store_ps(wts[2], tx.wsw);
    _mm256_store_ps(wts[3], tx.wse);

    // lanes share texels and vertices: add one lane at a time, back to front
    for (int32_t j = m - 1; j >= 0; --j) {
      if (da[j] == 0.f && wgt[j] == 0.f) continue;
      const int64_t o = at[j], ox = stepx[j], oy = stepy[j];
      for (int c = 0; c < 3; ++c) {
        float* g = a.grad_tex + c * plane + o;
        const float gc = gcol[c][j];
        g[0] += gc * wts[0][j];
        g[ox] += gc * wts[1][j];
        g[oy] += gc * wts[2][j];
        g[ox + oy] += gc * wts[3][j];
      }
      const int64_t* fv3 = a.faces + static_cast<int64_t>(face[j]) * 3;
      for (int k = 0; k < 3; ++k) {
        float* g = a.grad_verts + fv3[k] * 3;
        g[0] += gvx[k][j];
        g[1] += gvy[k][j];
        g[2] += gvz[k][j];
      }
    }
  }
}

}  // namespace simd
}  // namespace raster
}  // namespace rc

#pragma GCC pop_options
#else
namespace rc {
namespace raster {
namespace simd {
void layered_forward_image_avx2(const LayeredImageForward&) {}
void layered_backward_image_avx2(const LayeredImageBackward&) {}
}  // namespace simd
}  // namespace raster
}  // namespace rc
#endif
