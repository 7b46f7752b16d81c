// SoftRas forward/backward (Liu et al. 2019), face-major: each face visits only the pixels of
// its bounding box widened by the cut-off radius, and per-pixel accumulators live in a
// thread-local image. The float32 silhouette case (the SoftRas training hot path) goes to
// the AVX2 kernel when the CPU has it; everything else runs the scalar template below.
//
// Per pair (pixel p, face j), with d the Euclidean distance from p to the face boundary:
//   x_j = +d^2/sigma inside, -d^2/sigma outside;   D_j = sigmoid(x_j)
//   pairs outside with d^2 >= thr = log(1/dist_eps - 1) * sigma are skipped (D < dist_eps)
//   alpha = 1 - T,  T = prod_j (1 - D_j)
//   colour: zp = 1 / sum_k(wh_k / z_k) with wh the clamped, renormalised barycentrics,
//   zbar = (far - zp)/(far - near), w_j = D_j exp((zbar_j - m)/gamma),
//   I = (sum_j w_j c_j + w_bg bg) / (sum_j w_j + w_bg),  w_bg = exp((eps_bg - m)/gamma).
// The backward is the exact gradient of this forward (including the barycentric dependence
// of zp and of the colour on xy, which SoftRas drops), recomputed per pair from the inputs
// and the per-pixel aux (T, S, m) — nothing is stored per pair.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#define RC_HAVE_MXCSR 1
#endif

#include "face_geometry.h"
#include "raster_kernels.h"
#include "soft_simd.h"

namespace rc {
namespace raster {

namespace {

// Flush denormals to zero for the float path: products of (1-D) and exp tails otherwise hit
// the subnormal range, which is slow on x86 and numerically meaningless here. Restores the
// caller's mode on exit.
struct FlushDenormals {
#ifdef RC_HAVE_MXCSR
  unsigned int saved;
  explicit FlushDenormals(bool on) : saved(_mm_getcsr()) {
    if (on) _mm_setcsr(saved | 0x8040u);  // FTZ | DAZ
  }
  ~FlushDenormals() { _mm_setcsr(saved); }
#else
  explicit FlushDenormals(bool) {}
#endif
};

double cutoff_thr(const SoftConfig& cfg) {
  // D < dist_eps  <=>  d^2 > log(1/dist_eps - 1) * sigma (outside only)
  double thr = std::log(1.0 / cfg.dist_eps - 1.0) * cfg.sigma;
  return thr > 0 ? thr : 0.0;
}

// D and 1-D from a = d^2/sigma >= 0 without overflow and without cancellation.
template <typename T>
inline void soft_prob(T a, bool inside, T& D, T& omD) {
  T e = std::exp(-a);
  T r = T(1) / (T(1) + e);
  if (inside) {
    D = r;
    omD = e * r;
  } else {
    D = e * r;
    omD = r;
  }
}

// Barycentric depth of one pair, SoftRas "barycentric_clip" + perspective-correct zp.
template <typename T>
struct DepthTerm {
  T w[3];   // screen barycentrics
  T wh[3];  // clamped to [0,1] and renormalised
  T s;      // sum of the clamped barycentrics (>= 1/3 since sum w = 1)
  T zp, zbar;
};

template <typename T>
inline bool depth_term(const FaceGeom<T>& g, const PointFace<T>& o, T znear, T zfar,
                       DepthTerm<T>& d) {
  barycentrics(g, o, d.w);
  T wc[3];
  for (int k = 0; k < 3; ++k) wc[k] = std::min(std::max(d.w[k], T(0)), T(1));
  d.s = wc[0] + wc[1] + wc[2];
  T inv = T(0);
  for (int k = 0; k < 3; ++k) {
    d.wh[k] = wc[k] / d.s;
    inv += d.wh[k] / g.z[k];
  }
  d.zp = T(1) / inv;
  if (d.zp < znear || d.zp > zfar) return false;
  d.zbar = (zfar - d.zp) / (zfar - znear);
  return true;
}

template <typename T>
struct SoftScratch {
  std::vector<FaceGeom<T>> faces;
  std::vector<T> xs, ys;
  std::vector<T> acc_t, acc_s, acc_m, acc_c;  // per pixel, row stride Wp
  std::vector<T> gT;
  std::vector<T> gxy;
};

template <typename T>
void collect_faces(const SoftConfig& cfg, const T* fv, double radius, SoftScratch<T>& s) {
  s.faces.clear();
  for (int64_t f = 0; f < cfg.F; ++f) {
    const T* p = fv + f * 9;
    FaceGeom<T> g;
    if (!setup_face(p, p + 3, p + 6, cfg.znear, radius, cfg.H, cfg.W, g)) continue;
    g.face = static_cast<int32_t>(f);
    s.faces.push_back(g);
  }
}

template <typename T>
void forward_image(const SoftConfig& cfg, const T* fv, const T* col, T* image, T* aux,
                   SoftScratch<T>& s, bool use_simd) {
  const int64_t H = cfg.H, W = cfg.W, Wp = W + 8, C = cfg.C, HW = H * W;
  const double thr_d = cutoff_thr(cfg);
  const T thr = static_cast<T>(thr_d);
  const T inv_sigma = static_cast<T>(1.0 / cfg.sigma);
  const T gamma = static_cast<T>(cfg.gamma);
  const T znear = static_cast<T>(cfg.znear), zfar = static_cast<T>(cfg.zfar);
  collect_faces(cfg, fv, std::sqrt(thr_d), s);

  s.acc_t.assign(static_cast<size_t>(H * Wp), T(1));
  if (C > 0) {
    s.acc_s.assign(static_cast<size_t>(H * Wp), T(0));
    s.acc_m.assign(static_cast<size_t>(H * Wp), static_cast<T>(cfg.eps_bg));
    s.acc_c.assign(static_cast<size_t>(H * Wp * C), T(0));
  }

  bool simd_done = false;
  if constexpr (std::is_same<T, float>::value) {
    if (use_simd && C == 0) {
      simd::sil_forward_avx2(s.faces.data(), static_cast<int64_t>(s.faces.size()),
                             s.xs.data(), s.ys.data(), Wp, inv_sigma, thr, s.acc_t.data());
      simd_done = true;
    }
  }

  for (size_t fi = 0; !simd_done && fi < s.faces.size(); ++fi) {
    const FaceGeom<T>& g = s.faces[fi];
    const bool rgb = C > 0 && g.sgn != 0 && (g.front || cfg.double_side);
    const T* fc = rgb ? col + static_cast<int64_t>(g.face) * 3 * C : nullptr;
    for (int32_t i = g.i0; i <= g.i1; ++i) {
      const T py = s.ys[i];
      for (int32_t j = g.j0; j <= g.j1; ++j) {
        const T px = s.xs[j];
        PointFace<T> o;
        point_face(g, px, py, o);
        if (!o.inside && !(o.d2 < thr)) continue;
        T D, omD;
        soft_prob(o.d2 * inv_sigma, o.inside, D, omD);
        const int64_t p = i * Wp + j;
        s.acc_t[p] *= omD;
        if (!rgb) continue;
        DepthTerm<T> dt;
        if (!depth_term(g, o, znear, zfar, dt)) continue;
        T& m = s.acc_m[p];
        T* cp = s.acc_c.data() + p * C;
        if (dt.zbar > m) {
          // online max keeps every exp argument <= 0
          T sc = std::exp((m - dt.zbar) / gamma);
          s.acc_s[p] *= sc;
          for (int64_t c = 0; c < C; ++c) cp[c] *= sc;
          m = dt.zbar;
        }
        T w = D * std::exp((dt.zbar - m) / gamma);
        s.acc_s[p] += w;
        for (int64_t c = 0; c < C; ++c)
          cp[c] += w * (dt.wh[0] * fc[c] + dt.wh[1] * fc[C + c] + dt.wh[2] * fc[2 * C + c]);
      }
    }
  }

  const T eps_bg = static_cast<T>(cfg.eps_bg);
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) {
      const int64_t p = i * Wp + j, q = i * W + j;
      image[C * HW + q] = T(1) - s.acc_t[p];
      aux[q] = s.acc_t[p];
      if (C == 0) continue;
      const T m = s.acc_m[p];
      const T wbg = std::exp((eps_bg - m) / gamma);
      // S >= w of the face that set m (= D >= dist_eps) or w_bg = 1; the floor only matters
      // if dist_eps is so small that D underflows.
      const T S = std::max(s.acc_s[p] + wbg, std::numeric_limits<T>::min());
      for (int64_t c = 0; c < C; ++c) {
        T bg = cfg.background ? static_cast<T>(cfg.background[c]) : T(0);
        image[c * HW + q] = (s.acc_c[p * C + c] + wbg * bg) / S;
      }
      aux[HW + q] = S;
      aux[2 * HW + q] = m;
    }
}

template <typename T>
void backward_image(const SoftConfig& cfg, const T* fv, const T* col, const T* image,
                    const T* aux, const T* gimg, T* gfv, T* gcol, SoftScratch<T>& s,
                    bool use_simd) {
  const int64_t H = cfg.H, W = cfg.W, Wp = W + 8, C = cfg.C, HW = H * W;
  const double thr_d = cutoff_thr(cfg);
  const T thr = static_cast<T>(thr_d);
  const T inv_sigma = static_cast<T>(1.0 / cfg.sigma);
  const T gamma = static_cast<T>(cfg.gamma);
  const T znear = static_cast<T>(cfg.znear), zfar = static_cast<T>(cfg.zfar);
  const T inv_range = T(1) / (zfar - znear);
  collect_faces(cfg, fv, std::sqrt(thr_d), s);
  std::fill(gfv, gfv + cfg.F * 9, T(0));
  if (gcol) std::fill(gcol, gcol + cfg.F * 3 * C, T(0));

  // dL/dx_j = dL/dA * T * D_j for the alpha term: (1 - D_j) cancels analytically.
  s.gT.assign(static_cast<size_t>(H * Wp), T(0));
  const T* gA = gimg + C * HW;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) s.gT[i * Wp + j] = gA[i * W + j] * aux[i * W + j];

  if constexpr (std::is_same<T, float>::value) {
    if (use_simd && C == 0) {
      const int64_t nf = static_cast<int64_t>(s.faces.size());
      s.gxy.assign(static_cast<size_t>(nf * 6), 0.f);
      simd::sil_backward_avx2(s.faces.data(), nf, s.xs.data(), s.ys.data(), Wp, inv_sigma,
                              thr, s.gT.data(), s.gxy.data());
      for (int64_t k = 0; k < nf; ++k) {
        T* out = gfv + static_cast<int64_t>(s.faces[k].face) * 9;
        for (int v = 0; v < 3; ++v) {
          out[v * 3 + 0] = s.gxy[k * 6 + v * 2 + 0];
          out[v * 3 + 1] = s.gxy[k * 6 + v * 2 + 1];
        }
      }
      return;
    }
  }

  std::vector<T> colc(static_cast<size_t>(C)), gc_loc(static_cast<size_t>(3 * C));
  for (const FaceGeom<T>& g : s.faces) {
    const bool rgb = C > 0 && g.sgn != 0 && (g.front || cfg.double_side);
    const T* fc = rgb ? col + static_cast<int64_t>(g.face) * 3 * C : nullptr;
    T gxy[3][2] = {{0, 0}, {0, 0}, {0, 0}};
    T gz[3] = {0, 0, 0};
    if (rgb) std::fill(gc_loc.begin(), gc_loc.end(), T(0));
    for (int32_t i = g.i0; i <= g.i1; ++i) {
      const T py = s.ys[i];
      for (int32_t j = g.j0; j <= g.j1; ++j) {
        const T px = s.xs[j];
        PointFace<T> o;
        point_face(g, px, py, o);
        if (!o.inside && !(o.d2 < thr)) continue;
        T D, omD;
        soft_prob(o.d2 * inv_sigma, o.inside, D, omD);
        const int64_t p = i * Wp + j, q = i * W + j;
        T gx = s.gT[p] * D;
        if (rgb) {
          DepthTerm<T> dt;
          if (depth_term(g, o, znear, zfar, dt)) {
            const T S = aux[HW + q], m = aux[2 * HW + q];
            const T w = D * std::exp((dt.zbar - m) / gamma);
            T G = 0;
            for (int64_t c = 0; c < C; ++c) {
              colc[c] = dt.wh[0] * fc[c] + dt.wh[1] * fc[C + c] + dt.wh[2] * fc[2 * C + c];
              G += gimg[c * HW + q] * (colc[c] - image[c * HW + q]);
            }
            G /= S;
            gx += G * w * omD;
            const T gzp = -(G * w / gamma) * inv_range;
            const T ws = w / S;
            T gwh[3] = {0, 0, 0};
            for (int64_t c = 0; c < C; ++c) {
              const T gcc = gimg[c * HW + q] * ws;
              for (int v = 0; v < 3; ++v) {
                gc_loc[v * C + c] += gcc * dt.wh[v];
                gwh[v] += gcc * fc[v * C + c];
              }
            }
            const T zp2 = dt.zp * dt.zp;
            for (int v = 0; v < 3; ++v) {
              gz[v] += gzp * zp2 * dt.wh[v] / (g.z[v] * g.z[v]);
              gwh[v] -= gzp * zp2 / g.z[v];
            }
            // wh = clamp(w)/s
            const T dot = gwh[0] * dt.wh[0] + gwh[1] * dt.wh[1] + gwh[2] * dt.wh[2];
            T gw[3];
            for (int v = 0; v < 3; ++v)
              gw[v] = (dt.w[v] > T(0) && dt.w[v] < T(1)) ? (gwh[v] - dot) / dt.s : T(0);
            backprop_bary(g, px, py, dt.w, gw, gxy);
          }
        }
        backprop_d2(o, o.inside ? gx * inv_sigma : -gx * inv_sigma, gxy);
      }
    }
    T* out = gfv + static_cast<int64_t>(g.face) * 9;
    for (int v = 0; v < 3; ++v) {
      out[v * 3 + 0] = gxy[v][0];
      out[v * 3 + 1] = gxy[v][1];
      out[v * 3 + 2] = gz[v];
    }
    if (rgb && gcol) {
      T* gco = gcol + static_cast<int64_t>(g.face) * 3 * C;
      for (int64_t k = 0; k < 3 * C; ++k) gco[k] = gc_loc[k];
    }
  }
}

}  // namespace

bool simd_available() { return simd::cpu_has_avx2_fma(); }

template <typename T>
void soft_forward(const SoftConfig& cfg, const T* fv, const T* colors, T* image, T* aux,
                  int64_t b0, int64_t b1) {
  const bool is_float = std::is_same<T, float>::value;
  FlushDenormals ftz(is_float);
  SoftScratch<T> s;
  pixel_centres(cfg.W, s.xs);
  pixel_centres(cfg.H, s.ys);
  const int64_t C = cfg.C, HW = cfg.H * cfg.W, A = soft_aux_channels(C);
  const bool use_simd = is_float && cfg.simd;
  for (int64_t b = b0; b < b1; ++b)
    forward_image(cfg, fv + b * cfg.F * 9, colors ? colors + b * cfg.F * 3 * C : nullptr,
                  image + b * (C + 1) * HW, aux + b * A * HW, s, use_simd);
}

template <typename T>
void soft_backward(const SoftConfig& cfg, const T* fv, const T* colors, const T* image,
                   const T* aux, const T* grad_image, T* grad_fv, T* grad_colors, int64_t b0,
                   int64_t b1) {
  const bool is_float = std::is_same<T, float>::value;
  FlushDenormals ftz(is_float);
  SoftScratch<T> s;
  pixel_centres(cfg.W, s.xs);
  pixel_centres(cfg.H, s.ys);
  const int64_t C = cfg.C, HW = cfg.H * cfg.W, A = soft_aux_channels(C);
  const bool use_simd = is_float && cfg.simd;
  for (int64_t b = b0; b < b1; ++b)
    backward_image(cfg, fv + b * cfg.F * 9, colors ? colors + b * cfg.F * 3 * C : nullptr,
                   image + b * (C + 1) * HW, aux + b * A * HW, grad_image + b * (C + 1) * HW,
                   grad_fv + b * cfg.F * 9, grad_colors ? grad_colors + b * cfg.F * 3 * C : nullptr,
                   s, use_simd);
}

template void soft_forward<float>(const SoftConfig&, const float*, const float*, float*,
                                  float*, int64_t, int64_t);
template void soft_forward<double>(const SoftConfig&, const double*, const double*, double*,
                                   double*, int64_t, int64_t);
template void soft_backward<float>(const SoftConfig&, const float*, const float*, const float*,
                                   const float*, const float*, float*, float*, int64_t,
                                   int64_t);
template void soft_backward<double>(const SoftConfig&, const double*, const double*,
                                    const double*, const double*, const double*, double*,
                                    double*, int64_t, int64_t);

}  // namespace raster
}  // namespace rc
