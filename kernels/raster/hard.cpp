// Hard textured render for datasets and evaluation, fused, forward only: per image one z-buffer
// pass, then per output pixel its s x s subpixels shaded and box-filtered, composited over the
// background.
//
// The composed path (rasterize K = 1 -> gather face UVs -> grid_sample -> gather face normals ->
// two-sided Lambert -> nearest -> avg_pool2d -> composite) runs a dozen tensor ops over
// N (sH)(sW) pixels, each writing a full-size intermediate. Here the nearest face per subpixel
// comes from the same traversal as rc_raster_topk with K = 1 (topk_lists.h's `collect`, AVX2
// when enabled), so the fragments are exactly the Fragments op's; shading reads them straight
// from the thread's scratch and only the (N,C,H,W) image and (N,1,H,W) alpha are written.
//
// Per subpixel with nearest face f and perspective-correct barycentrics b:
//   uv  = sum_k b_k uv_{f,k};  t = bilinear(atlas, uv) (grid_sample: border, align_corners false)
//   cos = <n_f / max(|n_f|, 1e-12), l>,  n_f = (p1 - p0) x (p2 - p0) in the camera frame
//   c   = clamp(t * (ambient + diffuse * max(cos, 0)), 0, 1), or with two_sided the channelwise
//         max of that and the same with -cos (a face's winding is not trusted)
// then per output pixel: rgb = sum c / s^2 (premultiplied: empty subpixels add 0),
// alpha = covered / s^2, image = clamp(rgb + (1 - alpha) bg, 0, 1).
#include <algorithm>
#include <cmath>
#include <vector>

#include "topk_lists.h"

namespace rc {
namespace raster {

using namespace topk_detail;

namespace {

// grid_sample's source index for texture coordinate u in [0, 1] (grid = 2u - 1,
// align_corners = false), clipped to [0, size - 1] as border padding does (NaN -> 0).
template <typename T>
inline T texel_index(T u, int64_t size) {
  const T x = u * T(2) - T(1);
  const T ix = ((x + T(1)) * T(size) - T(1)) / T(2);
  if (!(ix > T(0))) return T(0);
  const T lim = static_cast<T>(size - 1);
  return ix < lim ? ix : lim;
}

// Bilinear lookup of the C channels of tex (C, Ht, Wt). A tap past the last column (row)
// only occurs when the index sits exactly on it, with weight 0: it reads the last column
// (row) instead, where grid_sample reads 0, which gives the same value without a branch.
template <int NC, typename T>
inline void bilinear(const T* tex, int64_t C_, int64_t Ht, int64_t Wt, T u, T v, T* out) {
  const int64_t C = NC > 0 ? NC : C_;
  const T ix = texel_index(u, Wt), iy = texel_index(v, Ht);
  const int64_t x0 = static_cast<int64_t>(ix), y0 = static_cast<int64_t>(iy);  // >= 0: floor
  const T fx = ix - static_cast<T>(x0), fy = iy - static_cast<T>(y0);
  const T wnw = (T(1) - fx) * (T(1) - fy), wne = fx * (T(1) - fy);
  const T wsw = (T(1) - fx) * fy, wse = fx * fy;
  const int64_t at = y0 * Wt + x0, dx = x0 + 1 < Wt ? 1 : 0, dy = y0 + 1 < Ht ? Wt : 0;
  const int64_t plane = Ht * Wt;
  for (int64_t c = 0; c < C; ++c) {
    const T* q = tex + c * plane + at;
    out[c] = q[0] * wnw + q[dx] * wne + q[dy] * wsw + q[dx + dy] * wse;
  }
}

template <typename T, int NC>
void forward_impl(const HardConfig& cfg, const T* verts, const T* points, const int64_t* faces,
                  const T* face_uvs, const T* atlas, const T* background, T* image, T* alpha,
                  int64_t b0, int64_t b1) {
  TopKConfig tc;
  tc.N = cfg.N;
  tc.V = cfg.V;
  tc.F = cfg.F;
  tc.H = cfg.H * cfg.supersample;
  tc.W = cfg.W * cfg.supersample;
  tc.K = 1;
  tc.blur_radius = 0.0;
  tc.znear = cfg.znear;
  tc.perspective_correct = true;
  tc.cull_backfaces = false;
  const int64_t s = cfg.supersample, H = cfg.H, W = cfg.W, HW = H * W, Ws = tc.W;
  const int64_t C = NC > 0 ? NC : cfg.C, Ht = cfg.Ht, Wt = cfg.Wt, V = cfg.V, F = cfg.F;
  const T area = static_cast<T>(s * s);  // avg_pool2d's divisor: sums are divided by it
  // the light, normalised once (as Shading.diffuse does)
  const double ln = std::sqrt(cfg.light[0] * cfg.light[0] + cfg.light[1] * cfg.light[1] +
                              cfg.light[2] * cfg.light[2]);
  const double l[3] = {cfg.light[0] / ln, cfg.light[1] / ln, cfg.light[2] / ln};

  Lists<T> L(tc);
  // per face of the image: the light factors for the normal and, two-sided, for its flip
  std::vector<T> shade(static_cast<size_t>(F * 2));
  std::vector<T> col_v(static_cast<size_t>(C)), acc_v(static_cast<size_t>(C));
  T *col = col_v.data(), *acc = acc_v.data();
  for (int64_t b = b0; b < b1; ++b) {
    const T* pb = points + b * V * 3;
    for (int64_t f = 0; f < F; ++f) {
      const int64_t* fi = faces + f * 3;
      const T *p0 = pb + fi[0] * 3, *p1 = pb + fi[1] * 3, *p2 = pb + fi[2] * 3;
      const double ax = double(p1[0]) - p0[0], ay = double(p1[1]) - p0[1],
                   az = double(p1[2]) - p0[2];
      const double bx = double(p2[0]) - p0[0], by = double(p2[1]) - p0[1],
                   bz = double(p2[2]) - p0[2];
      const double nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
      const double norm = std::max(std::sqrt(nx * nx + ny * ny + nz * nz), 1e-12);
      const double cosine = (nx * l[0] + ny * l[1] + nz * l[2]) / norm;
      shade[f * 2] = static_cast<T>(cfg.ambient + cfg.diffuse * std::max(cosine, 0.0));
      shade[f * 2 + 1] = static_cast<T>(cfg.ambient + cfg.diffuse * std::max(-cosine, 0.0));
    }

    collect(tc, verts + b * V * 3, faces, L);
    const T* bg = background + b * C * HW;
    T* out = image + b * C * HW;
    T* aout = alpha + b * HW;
    for (int64_t i = 0; i < H; ++i) {
      for (int64_t j = 0; j < W; ++j) {
        int64_t covered = 0;
        for (int64_t c = 0; c < C; ++c) acc[c] = T(0);
        for (int64_t si = 0; si < s; ++si) {
          for (int64_t sj = 0; sj < s; ++sj) {
            const int64_t p = (i * s + si) * Ws + (j * s + sj);
            if (L.cnt[p] == 0) continue;
            ++covered;
            const int64_t f = L.lf[p];
            const T* bary = &L.lp[p * 4];
            const T* fuv = face_uvs + f * 6;
            const T u = bary[0] * fuv[0] + bary[1] * fuv[2] + bary[2] * fuv[4];
            const T v = bary[0] * fuv[1] + bary[1] * fuv[3] + bary[2] * fuv[5];
            bilinear<NC>(atlas, C, Ht, Wt, u, v, col);
            const T lit = shade[f * 2], flip = shade[f * 2 + 1];
            for (int64_t c = 0; c < C; ++c) {
              T x = col[c] * lit;
              if (cfg.two_sided) x = std::max(x, col[c] * flip);
              acc[c] += x < T(0) ? T(0) : (x > T(1) ? T(1) : x);
            }
          }
        }
        const int64_t o = i * W + j;
        const T a = static_cast<T>(covered) / area;
        for (int64_t c = 0; c < C; ++c) {
          const T x = acc[c] / area + (T(1) - a) * bg[c * HW + o];
          out[c * HW + o] = x < T(0) ? T(0) : (x > T(1) ? T(1) : x);
        }
        aout[o] = a;
      }
    }
  }
}

}  // namespace

template <typename T>
void hard_textured_forward(const HardConfig& cfg, const T* verts, const T* points,
                           const int64_t* faces, const T* face_uvs, const T* atlas,
                           const T* background, T* image, T* alpha, int64_t b0, int64_t b1) {
  if (cfg.C == 3)
    forward_impl<T, 3>(cfg, verts, points, faces, face_uvs, atlas, background, image, alpha, b0, b1);
  else
    forward_impl<T, 0>(cfg, verts, points, faces, face_uvs, atlas, background, image, alpha, b0, b1);
}

template void hard_textured_forward<float>(const HardConfig&, const float*, const float*,
                                           const int64_t*, const float*, const float*,
                                           const float*, float*, float*, int64_t, int64_t);
template void hard_textured_forward<double>(const HardConfig&, const double*, const double*,
                                            const int64_t*, const double*, const double*,
                                            const double*, double*, double*, int64_t, int64_t);

}  // namespace raster
}  // namespace rc
