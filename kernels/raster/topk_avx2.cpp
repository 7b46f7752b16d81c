// AVX2+FMA traversal of the top-K rasterizer: the geometry of 8 pixels of a row per vector,
// then a scalar sorted insertion for the lanes that are candidates. Compiled for AVX2 by
// target pragma and only called when the CPU has it; no standard-library templates are
// instantiated under the pragma.
#include "topk_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace rc {
namespace raster {
namespace simd {
namespace {

// Same order and the same `stop` rule as topk_lists.h's `refused`/`insert`: smaller z first,
// ties by smaller face index. Deliberately a private copy: an inline function compiled here
// under -mavx2 and also in the portable translation unit could be merged by the linker into
// the AVX2 build, and the portable path would then fault on CPUs without AVX2.
// Slot payload: 3 barycentrics and the signed distance travel with (z, face).
static inline bool before(float z, int32_t fid, float lz, int32_t lf) {
  return z < lz || (z == lz && fid < lf);
}

static inline void insert(float z, int32_t fid, const float* pay, int64_t K, bool stop,
                          float* lz, int32_t* lf, float* lp, int32_t& n) {
  const int64_t filled = n < K ? n : K;
  const bool closed = stop && filled > 0 && !(lp[(filled - 1) * 4 + 3] > 0.f);
  int64_t pos;
  if (filled < K && !closed) {
    pos = n++;
  } else {
    if (!stop) ++n;
    if (!before(z, fid, lz[filled - 1], lf[filled - 1])) return;
    pos = filled < K ? filled : K - 1;
    if (filled < K) ++n;
  }
  while (pos > 0 && before(z, fid, lz[pos - 1], lf[pos - 1])) {
    lz[pos] = lz[pos - 1];
    lf[pos] = lf[pos - 1];
    for (int c = 0; c < 4; ++c) lp[pos * 4 + c] = lp[(pos - 1) * 4 + c];
    --pos;
  }
  lz[pos] = z;
  lf[pos] = fid;
  for (int c = 0; c < 4; ++c) lp[pos * 4 + c] = pay[c];
  if (stop && !(pay[3] > 0.f)) n = static_cast<int32_t>(pos + 1);
}

}  // namespace

void topk_traverse_avx2(const FaceGeom<float>* faces, const float* iz, const uint8_t* ok,
                        int64_t nf, const float* xs, const float* ys, int64_t W, int64_t K,
                        float blur, float znear, bool perspective, bool clip, bool stop, float* lz, int32_t* lf,
                        float* lp, int32_t* cnt) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 vblur = _mm256_set1_ps(blur), vnear = _mm256_set1_ps(znear);
  const __m256 umin = _mm256_set1_ps(1e-12f), inf = _mm256_set1_ps(__builtin_inff());
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  alignas(32) float zl[8], bl[3][8], dl[8];
  for (int64_t f = 0; f < nf; ++f) {
    if (!ok[f]) continue;
    const FaceGeom<float>& g = faces[f];
    const int32_t fid = g.face;
    __m256 x[3], ex[3], ey[3], il2[3], zc[3];
    for (int k = 0; k < 3; ++k) {
      x[k] = _mm256_set1_ps(g.x[k]);
      ex[k] = _mm256_set1_ps(g.ex[k]);
      ey[k] = _mm256_set1_ps(g.ey[k]);
      il2[k] = _mm256_set1_ps(g.il2[k]);
      // depth weights for w0..w2 = cr1, cr2, cr0 times inv_area2
      zc[k] = _mm256_set1_ps(perspective ? iz[f * 3 + k] : g.z[k]);
    }
    const __m256 sgn = _mm256_set1_ps(g.sgn), ia = _mm256_set1_ps(g.inv_area2);
    for (int32_t i = g.i0; i <= g.i1; ++i) {
      const float py = ys[i];
      __m256 dy[3], dyey[3], exdy[3];
      for (int k = 0; k < 3; ++k) {
        const float d = py - g.y[k];
        dy[k] = _mm256_set1_ps(d);
        dyey[k] = _mm256_set1_ps(d * g.ey[k]);
        exdy[k] = _mm256_set1_ps(g.ex[k] * d);
      }
      for (int32_t j = g.j0; j <= g.j1; j += 8) {
        const __m256 px = _mm256_loadu_ps(xs + j);
        const __m256 lanes = _mm256_castsi256_ps(
            _mm256_cmpgt_epi32(_mm256_set1_epi32(g.j1 - j + 1), iota));
        __m256 ins = lanes, d2 = inf, cr[3];
        for (int k = 0; k < 3; ++k) {
          const __m256 dx = _mm256_sub_ps(px, x[k]);
          __m256 t = _mm256_mul_ps(_mm256_fmadd_ps(dx, ex[k], dyey[k]), il2[k]);
          t = _mm256_min_ps(_mm256_max_ps(t, zero), one);
          const __m256 rx = _mm256_fnmadd_ps(t, ex[k], dx);
          const __m256 ry = _mm256_fnmadd_ps(t, ey[k], dy[k]);
          d2 = _mm256_min_ps(d2, _mm256_fmadd_ps(rx, rx, _mm256_mul_ps(ry, ry)));
          cr[k] = _mm256_fnmadd_ps(ey[k], dx, exdy[k]);
          ins = _mm256_and_ps(ins, _mm256_cmp_ps(_mm256_mul_ps(cr[k], sgn), zero, _CMP_GT_OQ));
        }
        __m256 valid =
            _mm256_and_ps(lanes, _mm256_or_ps(ins, _mm256_cmp_ps(d2, vblur, _CMP_LT_OQ)));
        if (_mm256_movemask_ps(valid) == 0) continue;
        __m256 w0 = _mm256_mul_ps(cr[1], ia), w1 = _mm256_mul_ps(cr[2], ia),
               w2 = _mm256_mul_ps(cr[0], ia);
        if (clip) {  // topk_lists.h's clip_bary: lanes with a negative coordinate only
          const __m256 neg = _mm256_or_ps(_mm256_or_ps(_mm256_cmp_ps(w0, zero, _CMP_LT_OQ),
                                                       _mm256_cmp_ps(w1, zero, _CMP_LT_OQ)),
                                          _mm256_cmp_ps(w2, zero, _CMP_LT_OQ));
          if (_mm256_movemask_ps(_mm256_and_ps(neg, valid))) {
            const __m256 m0 = _mm256_max_ps(w0, zero), m1 = _mm256_max_ps(w1, zero),
                         m2 = _mm256_max_ps(w2, zero);
            const __m256 sum = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
            w0 = _mm256_blendv_ps(w0, _mm256_div_ps(m0, sum), neg);
            w1 = _mm256_blendv_ps(w1, _mm256_div_ps(m1, sum), neg);
            w2 = _mm256_blendv_ps(w2, _mm256_div_ps(m2, sum), neg);
          }
        }
        const __m256 s = _mm256_fmadd_ps(w2, zc[2], _mm256_fmadd_ps(w1, zc[1], _mm256_mul_ps(w0, zc[0])));
        __m256 z;
        if (perspective) {
          valid = _mm256_and_ps(valid, _mm256_cmp_ps(s, umin, _CMP_GT_OQ));
          z = _mm256_div_ps(one, s);
        } else {
          z = s;
        }
        valid = _mm256_and_ps(valid, _mm256_cmp_ps(z, vnear, _CMP_GT_OQ));
        valid = _mm256_and_ps(valid, _mm256_cmp_ps(z, inf, _CMP_LT_OQ));
        int mask = _mm256_movemask_ps(valid);
        if (mask == 0) continue;
        _mm256_store_ps(zl, z);
        if (perspective) {
          _mm256_store_ps(bl[0], _mm256_mul_ps(_mm256_mul_ps(w0, zc[0]), z));
          _mm256_store_ps(bl[1], _mm256_mul_ps(_mm256_mul_ps(w1, zc[1]), z));
          _mm256_store_ps(bl[2], _mm256_mul_ps(_mm256_mul_ps(w2, zc[2]), z));
        } else {
          _mm256_store_ps(bl[0], w0);
          _mm256_store_ps(bl[1], w1);
          _mm256_store_ps(bl[2], w2);
        }
        _mm256_store_ps(dl, _mm256_blendv_ps(d2, _mm256_sub_ps(zero, d2), ins));
        const int64_t row = static_cast<int64_t>(i) * W + j;
        while (mask) {
          const int l = __builtin_ctz(mask);
          mask &= mask - 1;
          const int64_t p = row + l;
          const float pay[4] = {bl[0][l], bl[1][l], bl[2][l], dl[l]};
          insert(zl[l], fid, pay, K, stop, lz + p * K, lf + p * K, lp + p * K * 4, cnt[p]);
        }
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
void topk_traverse_avx2(const FaceGeom<float>*, const float*, const uint8_t*, int64_t,
                        const float*, const float*, int64_t, int64_t, float, float, bool, bool, bool,
                        float*, int32_t*, float*, int32_t*) {}
}  // namespace simd
}  // namespace raster
}  // namespace rc
#endif
