// AVX2+FMA silhouette kernels: 8 pixels of one row per vector, face-major.
// Only the functions after the target pragma use AVX2; they are reached only when
// cpu_has_avx2_fma() is true, so the library still loads and runs on older x86-64 CPUs.
// No standard-library templates are instantiated under the pragma (they are COMDAT and the
// linker could keep the AVX2 copy for everyone).
#include "soft_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RC_RASTER_AVX2 1
#endif

namespace rc {
namespace raster {
namespace simd {

bool cpu_has_avx2_fma() {
#ifdef RC_RASTER_AVX2
  __builtin_cpu_init();  // may run from a static initialiser, before libgcc's own init
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace simd
}  // namespace raster
}  // namespace rc

#ifdef RC_RASTER_AVX2
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "avx2_math.h"

namespace rc {
namespace raster {
namespace simd {
namespace {

// Broadcast face constants, shared by forward and backward.
struct FaceVec {
  __m256 x[3], ex[3], ey[3], il2[3], sgn;
  explicit FaceVec(const FaceGeom<float>& g) {
    for (int k = 0; k < 3; ++k) {
      x[k] = _mm256_set1_ps(g.x[k]);
      ex[k] = _mm256_set1_ps(g.ex[k]);
      ey[k] = _mm256_set1_ps(g.ey[k]);
      il2[k] = _mm256_set1_ps(g.il2[k]);
    }
    sgn = _mm256_set1_ps(g.sgn);
  }
};

// Row constants: dy_k = py - y_k and the products with the edge vectors.
struct RowVec {
  __m256 dy[3], dyey[3], exdy[3];
  RowVec(const FaceGeom<float>& g, float py) {
    for (int k = 0; k < 3; ++k) {
      float d = py - g.y[k];
      dy[k] = _mm256_set1_ps(d);
      dyey[k] = _mm256_set1_ps(d * g.ey[k]);
      exdy[k] = _mm256_set1_ps(g.ex[k] * d);
    }
  }
};

static inline __m256 lane_mask(int32_t remaining) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(remaining), iota));
}

}  // namespace

void sil_forward_avx2(const FaceGeom<float>* faces, int64_t nf, const float* xs,
                      const float* ys, int64_t Wp, float inv_sigma, float thr, float* Tbuf) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 vthr = _mm256_set1_ps(thr), vis = _mm256_set1_ps(inv_sigma);
  for (int64_t f = 0; f < nf; ++f) {
    const FaceGeom<float>& g = faces[f];
    const FaceVec fv(g);
    for (int32_t i = g.i0; i <= g.i1; ++i) {
      const RowVec rv(g, ys[i]);
      float* row = Tbuf + i * Wp;
      for (int32_t j = g.j0; j <= g.j1; j += 8) {
        const __m256 px = _mm256_loadu_ps(xs + j);
        __m256 d2 = _mm256_setzero_ps(), ins = lane_mask(g.j1 - j + 1);
        const __m256 lanes = ins;
        for (int k = 0; k < 3; ++k) {
          __m256 dx = _mm256_sub_ps(px, fv.x[k]);
          __m256 t = _mm256_mul_ps(_mm256_fmadd_ps(dx, fv.ex[k], rv.dyey[k]), fv.il2[k]);
          t = _mm256_min_ps(_mm256_max_ps(t, zero), one);
          __m256 rx = _mm256_fnmadd_ps(t, fv.ex[k], dx);
          __m256 ry = _mm256_fnmadd_ps(t, fv.ey[k], rv.dy[k]);
          __m256 dk = _mm256_fmadd_ps(rx, rx, _mm256_mul_ps(ry, ry));
          d2 = k == 0 ? dk : _mm256_min_ps(d2, dk);
          __m256 cr = _mm256_fnmadd_ps(fv.ey[k], dx, rv.exdy[k]);
          ins = _mm256_and_ps(ins, _mm256_cmp_ps(_mm256_mul_ps(cr, fv.sgn), zero, _CMP_GT_OQ));
        }
        const __m256 valid =
            _mm256_and_ps(lanes, _mm256_or_ps(ins, _mm256_cmp_ps(d2, vthr, _CMP_LT_OQ)));
        if (_mm256_movemask_ps(valid) == 0) continue;
        const __m256 e = exp_nonpos(_mm256_sub_ps(zero, _mm256_mul_ps(d2, vis)));
        const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
        __m256 omD = _mm256_blendv_ps(r, _mm256_mul_ps(e, r), ins);
        omD = _mm256_blendv_ps(one, omD, valid);
        _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), omD));
      }
    }
  }
}

void sil_backward_avx2(const FaceGeom<float>* faces, int64_t nf, const float* xs,
                       const float* ys, int64_t Wp, float inv_sigma, float thr,
                       const float* gT, float* gxy) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 vthr = _mm256_set1_ps(thr), vis = _mm256_set1_ps(inv_sigma);
  const __m256 minus2 = _mm256_set1_ps(-2.0f);
  for (int64_t f = 0; f < nf; ++f) {
    const FaceGeom<float>& g = faces[f];
    const FaceVec fv(g);
    __m256 ax[3] = {zero, zero, zero}, ay[3] = {zero, zero, zero};
    for (int32_t i = g.i0; i <= g.i1; ++i) {
      const RowVec rv(g, ys[i]);
      const float* grow = gT + i * Wp;
      for (int32_t j = g.j0; j <= g.j1; j += 8) {
        const __m256 px = _mm256_loadu_ps(xs + j);
        const __m256 lanes = lane_mask(g.j1 - j + 1);
        __m256 ins = lanes, best = zero, brx = zero, bry = zero;
        __m256 w[3] = {zero, zero, zero};  // closest-point weights of the three vertices
        for (int k = 0; k < 3; ++k) {
          __m256 dx = _mm256_sub_ps(px, fv.x[k]);
          __m256 t = _mm256_mul_ps(_mm256_fmadd_ps(dx, fv.ex[k], rv.dyey[k]), fv.il2[k]);
          t = _mm256_min_ps(_mm256_max_ps(t, zero), one);
          __m256 rx = _mm256_fnmadd_ps(t, fv.ex[k], dx);
          __m256 ry = _mm256_fnmadd_ps(t, fv.ey[k], rv.dy[k]);
          __m256 dk = _mm256_fmadd_ps(rx, rx, _mm256_mul_ps(ry, ry));
          const int a = k, b = (k + 1) % 3, c = (k + 2) % 3;
          const __m256 omt = _mm256_sub_ps(one, t);
          if (k == 0) {
            best = dk;
            brx = rx;
            bry = ry;
            w[a] = omt;
            w[b] = t;
          } else {
            // strict < keeps the first edge on ties, as the scalar kernel does
            const __m256 m = _mm256_cmp_ps(dk, best, _CMP_LT_OQ);
            best = _mm256_blendv_ps(best, dk, m);
            brx = _mm256_blendv_ps(brx, rx, m);
            bry = _mm256_blendv_ps(bry, ry, m);
            w[a] = _mm256_blendv_ps(w[a], omt, m);
            w[b] = _mm256_blendv_ps(w[b], t, m);
            w[c] = _mm256_blendv_ps(w[c], zero, m);
          }
          __m256 cr = _mm256_fnmadd_ps(fv.ey[k], dx, rv.exdy[k]);
          ins = _mm256_and_ps(ins, _mm256_cmp_ps(_mm256_mul_ps(cr, fv.sgn), zero, _CMP_GT_OQ));
        }
        const __m256 valid =
            _mm256_and_ps(lanes, _mm256_or_ps(ins, _mm256_cmp_ps(best, vthr, _CMP_LT_OQ)));
        if (_mm256_movemask_ps(valid) == 0) continue;
        const __m256 e = exp_nonpos(_mm256_sub_ps(zero, _mm256_mul_ps(best, vis)));
        const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
        const __m256 D = _mm256_blendv_ps(_mm256_mul_ps(e, r), r, ins);
        // dL/dx = gT * D; x = +-d2/sigma; d(d2)/dv = -2 w_v (p - q)
        const __m256 signed_is = _mm256_blendv_ps(_mm256_sub_ps(zero, vis), vis, ins);
        __m256 G = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(grow + j), D),
                                 _mm256_mul_ps(signed_is, minus2));
        G = _mm256_and_ps(G, valid);
        const __m256 gx = _mm256_mul_ps(G, brx), gy = _mm256_mul_ps(G, bry);
        for (int v = 0; v < 3; ++v) {
          ax[v] = _mm256_fmadd_ps(gx, w[v], ax[v]);
          ay[v] = _mm256_fmadd_ps(gy, w[v], ay[v]);
        }
      }
    }
    for (int v = 0; v < 3; ++v) {
      gxy[f * 6 + 2 * v + 0] = hsum(ax[v]);
      gxy[f * 6 + 2 * v + 1] = hsum(ay[v]);
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
void sil_forward_avx2(const FaceGeom<float>*, int64_t, const float*, const float*, int64_t,
                      float, float, float*) {}
void sil_backward_avx2(const FaceGeom<float>*, int64_t, const float*, const float*, int64_t,
                       float, float, const float*, float*) {}
}  // namespace simd
}  // namespace raster
}  // namespace rc
#endif
