// UNICORN's textured render, fused: top-K lists -> UVs -> bilinear texture -> layered blend.
//
// The composed path (rasterize -> interpolate -> grid_sample -> layered blend) writes 28 B of
// fragments per slot, 6.3 M slots for 192 images of 64x64 at K = 8, then reads them back
// through a dozen tensor ops and their gradients. Here each thread keeps one image's K-lists
// in its scratch (topk_lists.h), blends them per pixel as soon as they are complete, and
// writes only the image (C+1 values per pixel). For the backward it keeps the face index of
// every filled slot (about 5 k per image in the UNICORN setting, 4 B each) and recomputes the
// rest per slot: barycentrics, distance, UVs and texels.
//
// Per pixel with filled slots j = 0..n-1 (nearest first):
//   alpha_j = exp(-max(d_j, 0)/sigma), T_0 = 1, T_{j+1} = T_j (1 - alpha_j)
//   c_j = bilinear(tex, sum_k b_jk uv_{f_j,k}) with grid_sample's border clamping
//   rgb = sum_j T_j alpha_j c_j + T_n bg,   alpha = 1 - T_n
// Backward, without dividing by (1 - alpha): with S_n = bg, S_j = alpha_j c_j + (1-alpha_j) S_{j+1}
// (the colour seen from slot j on) and U_j = prod_{i>=j}(1 - alpha_i),
//   d rgb / d alpha_j = T_j (c_j - S_{j+1}),   d alpha / d alpha_j = T_j U_{j+1},
//   d rgb / d c_j = T_j alpha_j,
// then the texel, UV and barycentric chains, and the pair's vertex gradient (topk_lists.h).
// Threads own whole images, including their rows of grad_verts and grad_tex: no atomics.
#include <algorithm>
#include <cmath>
#include <vector>

#include "layered_simd.h"
#include "texture_sample.h"
#include "topk_lists.h"

namespace rc {
namespace raster {

using namespace topk_detail;
using namespace texture_detail;

namespace {

// Sets up every face that the image's slots name, for the vectorised backward; false if one
// fails (it cannot: the forward kept only faces that set up), and the scalar path then runs.
template <typename T>
bool refresh_slot_faces(const T* vb, const int64_t* faces, const int32_t* slots, int64_t count,
                        std::vector<FaceGeom<T>>& geo, std::vector<T>& izs,
                        std::vector<uint8_t>& ok) {
  for (int64_t s = 0; s < count; ++s) {
    const int32_t f = slots[s];
    if (!ok[f]) ok[f] = refresh_topk_face(vb, faces, f, geo[f], &izs[f * 3]) ? 1 : 2;
    if (ok[f] != 1) return false;
  }
  return true;
}

}  // namespace

namespace {

// NC > 0: the channel count fixed at compile time; 0: cfg.C at run time.
template <typename T, int NC>
void forward_impl(const LayeredConfig& cfg, const T* verts, const int64_t* faces,
                  const T* face_uvs, const T* tex, T* rgb, T* alpha,
                  std::vector<int32_t>* slots, int32_t* counts, int64_t b0, int64_t b1) {
  // behind a pixel's first opaque slot nothing shows: the lists need not hold it
  TopKConfig tc = cfg.topk;
  tc.stop_at_opaque = true;
  const int64_t K = tc.K, HW = tc.H * tc.W, C = NC > 0 ? NC : cfg.C, Ht = cfg.Ht, Wt = cfg.Wt;
  const T neg_inv_sigma = static_cast<T>(-1.0 / cfg.sigma);
  std::vector<T> bg_v(static_cast<size_t>(C)), acc_v(static_cast<size_t>(C)), col_v(static_cast<size_t>(C));
  T *bg = bg_v.data(), *acc = acc_v.data(), *col = col_v.data();
  for (int64_t c = 0; c < C; ++c) bg[c] = cfg.background ? static_cast<T>(cfg.background[c]) : T(0);
  Lists<T> L(tc);
  for (int64_t b = b0; b < b1; ++b) {
    collect(tc, verts + b * tc.V * 3, faces, L);
    const T* tb = tex + b * C * Ht * Wt;
    T* out = rgb + b * C * HW;
    std::vector<int32_t>& kept = slots[b];
    kept.clear();
    kept.reserve(static_cast<size_t>(HW * 2));
    // what the backward replays: the filled slots of each pixel and their faces, pixel-major
    for (int64_t p = 0; p < HW; ++p) {
      const int32_t n = std::min<int32_t>(L.cnt[p], static_cast<int32_t>(K));
      counts[b * HW + p] = n;
      kept.insert(kept.end(), L.lf.begin() + p * K, L.lf.begin() + p * K + n);
    }
    if constexpr (std::is_same<T, float>::value && NC == 3) {
      if (tc.simd && K <= 8) {
        simd::layered_forward_image_avx2({L.lf.data(), L.lp.data(), L.cnt.data(), K, HW,
                                          face_uvs, tb, Ht, Wt, bg, neg_inv_sigma, out,
                                          alpha + b * HW});
        continue;
      }
    }
    for (int64_t p = 0; p < HW; ++p) {
      const int32_t n = counts[b * HW + p];
      T tr = T(1);
      for (int64_t c = 0; c < C; ++c) acc[c] = T(0);
      for (int32_t j = 0; j < n; ++j) {
        const int64_t slot = p * K + j;
        const int32_t f = L.lf[slot];
        const T* pay = &L.lp[slot * 4];
        const T a = pay[3] > T(0) ? std::exp(pay[3] * neg_inv_sigma) : T(1);
        if (tr > T(0)) {  // behind an opaque layer a colour adds 0
          T u, v;
          slot_uv(face_uvs + static_cast<int64_t>(f) * 6, pay, u, v);
          Tap<T> t;
          tap_at(u, v, Ht, Wt, t);
          bilinear<NC>(tb, C, Ht, Wt, t, col);
          const T wgt = tr * a;
          for (int64_t c = 0; c < C; ++c) acc[c] += wgt * col[c];
        }
        tr *= T(1) - a;
      }
      for (int64_t c = 0; c < C; ++c) out[c * HW + p] = acc[c] + tr * bg[c];
      alpha[b * HW + p] = T(1) - tr;
    }
  }
}

template <typename T, int NC>
void backward_impl(const LayeredConfig& cfg, const T* verts, const int64_t* faces,
                   const T* face_uvs, const T* tex, const int32_t* slots,
                   const int64_t* offsets, const int32_t* counts, const T* grad_rgb,
                   const T* grad_alpha, T* grad_verts, T* grad_tex, int64_t b0, int64_t b1) {
  const TopKConfig& tc = cfg.topk;
  const int64_t W = tc.W, K = tc.K, HW = tc.H * tc.W, C = NC > 0 ? NC : cfg.C, Ht = cfg.Ht,
                Wt = cfg.Wt;
  const T neg_inv_sigma = static_cast<T>(-1.0 / cfg.sigma);
  std::vector<T> xs, ys;
  pixel_centres(tc.W, xs);
  pixel_centres(tc.H, ys);
  std::vector<FaceGeom<T>> geo(static_cast<size_t>(tc.F));
  std::vector<T> izs(static_cast<size_t>(tc.F * 3));
  std::vector<uint8_t> ok(static_cast<size_t>(tc.F));
  // per slot of one pixel
  std::vector<Sample<T>> smp(static_cast<size_t>(K));
  std::vector<Tap<T>> taps(static_cast<size_t>(K));
  std::vector<T> al(static_cast<size_t>(K)), tbefore(static_cast<size_t>(K)),
      col_v(static_cast<size_t>(K * C));
  std::vector<uint8_t> live(static_cast<size_t>(K));
  std::vector<T> bg_v(static_cast<size_t>(C)), S_v(static_cast<size_t>(C)),
      gr_v(static_cast<size_t>(C)), gcol_v(static_cast<size_t>(C));
  T *col = col_v.data(), *bg = bg_v.data(), *S = S_v.data(), *gr = gr_v.data(),
    *gcol = gcol_v.data();
  for (int64_t c = 0; c < C; ++c) bg[c] = cfg.background ? static_cast<T>(cfg.background[c]) : T(0);

  for (int64_t b = b0; b < b1; ++b) {
    const T* vb = verts + b * tc.V * 3;
    const T* texb = tex + b * C * Ht * Wt;
    T* gv = grad_verts + b * tc.V * 3;
    T* gt = grad_tex + b * C * Ht * Wt;
    std::fill(gv, gv + tc.V * 3, T(0));
    std::fill(gt, gt + C * Ht * Wt, T(0));
    std::fill(ok.begin(), ok.end(), uint8_t(0));
    const int32_t* fs = slots + offsets[b];
    if constexpr (std::is_same<T, float>::value && NC == 3) {
      if (tc.simd && K <= 8 && refresh_slot_faces(vb, faces, fs, offsets[b + 1] - offsets[b], geo, izs, ok)) {
        simd::LayeredImageBackward args{geo.data(), izs.data(), faces, face_uvs, texb, Ht, Wt,
                                        tc.H, W, xs.data(), ys.data(), fs, counts + b * HW,
                                        grad_rgb ? grad_rgb + b * C * HW : nullptr,
                                        grad_alpha ? grad_alpha + b * HW : nullptr, bg,
                                        neg_inv_sigma, tc.perspective_correct, clips(tc), gv, gt};
        simd::layered_backward_image_avx2(args);
        continue;
      }
    }
    for (int64_t p = 0; p < HW; ++p) {
      const int32_t n = counts[b * HW + p];
      if (n == 0) continue;
      const int32_t* pf = fs;
      fs += n;
      for (int64_t c = 0; c < C; ++c) gr[c] = grad_rgb ? grad_rgb[(b * C + c) * HW + p] : T(0);
      const T ga = grad_alpha ? grad_alpha[b * HW + p] : T(0);
      const T px = xs[p % W], py = ys[p / W];
      // forward again: the slots' samples, alphas, transmittances and colours. Behind an
      // inside slot (alpha = 1, d alpha/d d = 0) nothing reaches any gradient: its
      // (1 - alpha) = 0 multiplies them all, so the sweep stops there.
      T tr = T(1);
      int32_t m = n;
      for (int32_t j = 0; j < n; ++j) {
        const int32_t f = pf[j];
        if (!ok[f]) ok[f] = refresh_topk_face(vb, faces, f, geo[f], &izs[f * 3]) ? 1 : 2;
        live[j] = ok[f] == 1;  // the forward only kept faces that set up, so this holds
        tbefore[j] = tr;
        if (!live[j]) {
          al[j] = T(0);
          for (int64_t c = 0; c < C; ++c) col[j * C + c] = T(0);
          continue;
        }
        Sample<T>& s = smp[j];
        eval_pair(geo[f], px, py, tc, &izs[f * 3], s);
        al[j] = s.dist > T(0) ? std::exp(s.dist * neg_inv_sigma) : T(1);
        T u, v;
        slot_uv(face_uvs + static_cast<int64_t>(f) * 6, s.b, u, v);
        tap_at(u, v, Ht, Wt, taps[j]);
        bilinear<NC>(texb, C, Ht, Wt, taps[j], &col[j * C]);
        tr *= T(1) - al[j];
        if (al[j] == T(1) && !(smp[j].dist > T(0))) {
          m = j + 1;
          break;
        }
      }
      // and back, front-most last
      for (int64_t c = 0; c < C; ++c) S[c] = bg[c];
      T U = T(1);
      for (int32_t j = m - 1; j >= 0; --j) {
        const T a = al[j];
        const T* cj = &col[j * C];
        if (live[j] && tbefore[j] > T(0)) {
          T dot = 0;
          for (int64_t c = 0; c < C; ++c) dot += gr[c] * (cj[c] - S[c]);
          const T da = tbefore[j] * (dot + ga * U);
          const T wgt = tbefore[j] * a;
          for (int64_t c = 0; c < C; ++c) gcol[c] = gr[c] * wgt;
          T gu, gvv;
          bilinear_backward<NC>(texb, C, Ht, Wt, taps[j], gcol, gt, gu, gvv);
          const Sample<T>& s = smp[j];
          const T gd = s.dist > T(0) ? da * a * neg_inv_sigma : T(0);
          const T* fuv = face_uvs + static_cast<int64_t>(pf[j]) * 6;
          const T gbary[3] = {gu * fuv[0] + gvv * fuv[1], gu * fuv[2] + gvv * fuv[3],
                              gu * fuv[4] + gvv * fuv[5]};
          if (gd != T(0) || gbary[0] != T(0) || gbary[1] != T(0) || gbary[2] != T(0))
            pair_backward(tc, geo[pf[j]], px, py, s, gbary, T(0), gd, faces + pf[j] * 3, gv);
        }
        for (int64_t c = 0; c < C; ++c) S[c] = a * cj[c] + (T(1) - a) * S[c];
        U *= T(1) - a;
      }
    }
  }
}

}  // namespace

template <typename T>
void layered_forward(const LayeredConfig& cfg, const T* verts, const int64_t* faces,
                     const T* face_uvs, const T* tex, T* rgb, T* alpha,
                     std::vector<int32_t>* slots, int32_t* counts, int64_t b0, int64_t b1) {
  if (cfg.C == 3)
    forward_impl<T, 3>(cfg, verts, faces, face_uvs, tex, rgb, alpha, slots, counts, b0, b1);
  else if (cfg.C == 1)
    forward_impl<T, 1>(cfg, verts, faces, face_uvs, tex, rgb, alpha, slots, counts, b0, b1);
  else
    forward_impl<T, 0>(cfg, verts, faces, face_uvs, tex, rgb, alpha, slots, counts, b0, b1);
}

template <typename T>
void layered_backward(const LayeredConfig& cfg, const T* verts, const int64_t* faces,
                      const T* face_uvs, const T* tex, const int32_t* slots,
                      const int64_t* offsets, const int32_t* counts, const T* grad_rgb,
                      const T* grad_alpha, T* grad_verts, T* grad_tex, int64_t b0, int64_t b1) {
  if (cfg.C == 3)
    backward_impl<T, 3>(cfg, verts, faces, face_uvs, tex, slots, offsets, counts, grad_rgb,
                        grad_alpha, grad_verts, grad_tex, b0, b1);
  else if (cfg.C == 1)
    backward_impl<T, 1>(cfg, verts, faces, face_uvs, tex, slots, offsets, counts, grad_rgb,
                        grad_alpha, grad_verts, grad_tex, b0, b1);
  else
    backward_impl<T, 0>(cfg, verts, faces, face_uvs, tex, slots, offsets, counts, grad_rgb,
                        grad_alpha, grad_verts, grad_tex, b0, b1);
}

template void layered_forward<float>(const LayeredConfig&, const float*, const int64_t*,
                                     const float*, const float*, float*, float*,
                                     std::vector<int32_t>*, int32_t*, int64_t, int64_t);
template void layered_forward<double>(const LayeredConfig&, const double*, const int64_t*,
                                      const double*, const double*, double*, double*,
                                      std::vector<int32_t>*, int32_t*, int64_t, int64_t);
template void layered_backward<float>(const LayeredConfig&, const float*, const int64_t*,
                                      const float*, const float*, const int32_t*,
                                      const int64_t*, const int32_t*, const float*,
                                      const float*, float*, float*, int64_t, int64_t);
template void layered_backward<double>(const LayeredConfig&, const double*, const int64_t*,
                                       const double*, const double*, const int32_t*,
                                       const int64_t*, const int32_t*, const double*,
                                       const double*, double*, double*, int64_t, int64_t);

}  // namespace raster
}  // namespace rc
