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

#include "texture_sample.h"
#include "topk_lists.h"

namespace rc {
namespace raster {

using namespace topk_detail;
using namespace texture_detail;

namespace {

// Whether [min, max] of three coordinates in subpixel units (centres at 0 .. n-1) may hold a
// centre. Widened by more than half a float ulp at n, so the rounding of the coordinates can
// only keep more faces, never fewer, than setup_face's exact test in double (float rounding
// is monotone, so the min of rounded values is the rounded min). Faces with non-finite
// coordinates may pass: setup_face drops them. Truncation is floor for the values it meets.
inline bool covers_centre(float a, float b, float c, int64_t n) {
  const float last = static_cast<float>(n - 1), slack = 1e-3f + 1e-6f * static_cast<float>(n);
  const float lo = std::min({a, b, c}) - slack, hi = std::max({a, b, c}) + slack;
  if (!(hi >= 0.0f) || !(lo <= last)) return false;
  return hi >= last || static_cast<float>(static_cast<int32_t>(hi)) >= lo;
}

// The light factors of a face with camera-frame corners p0, p1, p2: for its normal
// n = (p1 - p0) x (p2 - p0) and for -n. l: the unit light direction.
template <typename T>
inline void face_shade(const HardConfig& cfg, const double l[3], const T* p0, const T* p1,
                       const T* p2, T out[2]) {
  const double ax = double(p1[0]) - p0[0], ay = double(p1[1]) - p0[1], az = double(p1[2]) - p0[2];
  const double bx = double(p2[0]) - p0[0], by = double(p2[1]) - p0[1], bz = double(p2[2]) - p0[2];
  const double nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
  const double norm = std::max(std::sqrt(nx * nx + ny * ny + nz * nz), 1e-12);
  const double cosine = (nx * l[0] + ny * l[1] + nz * l[2]) / norm;
  out[0] = static_cast<T>(cfg.ambient + cfg.diffuse * std::max(cosine, 0.0));
  out[1] = static_cast<T>(cfg.ambient + cfg.diffuse * std::max(-cosine, 0.0));
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
  tc.simd = cfg.simd;
  const int64_t s = cfg.supersample, H = cfg.H, W = cfg.W, HW = H * W, Ws = tc.W;
  const int64_t C = NC > 0 ? NC : cfg.C, Ht = cfg.Ht, Wt = cfg.Wt, V = cfg.V, F = cfg.F;
  const T area = static_cast<T>(s * s);  // avg_pool2d's divisor: sums are divided by it
  // the light, normalised once (as Shading.diffuse does)
  const double ln = std::sqrt(cfg.light[0] * cfg.light[0] + cfg.light[1] * cfg.light[1] +
                              cfg.light[2] * cfg.light[2]);
  const double l[3] = {cfg.light[0] / ln, cfg.light[1] / ln, cfg.light[2] / ln};

  Lists<T> L(tc);
  const bool two_sided = cfg.two_sided;
  // The faces of an image that can reach a subpixel centre, in mesh order, and their mesh
  // indices. Real models have far more faces than subpixels, most of them between centres:
  // this test costs a fraction of the traversal's face setup (setup_face), which then sees
  // only the faces kept. It is conservative, so every face that setup_face would rasterize
  // is kept; since the order is kept too, ties by face index pick the same faces.
  std::vector<int64_t> kept_faces(static_cast<size_t>(F * 3));
  std::vector<int32_t> kept_id(static_cast<size_t>(F));
  // per vertex: its position in subpixel units (centres at integers) and whether it is in
  // front of the near plane
  std::vector<float> gx(static_cast<size_t>(V)), gy(static_cast<size_t>(V));
  std::vector<uint8_t> front(static_cast<size_t>(V));
  // per face: the light factors for the normal and its flip, computed when an image first
  // shows the face (stamp = the image's number)
  std::vector<T> shade(static_cast<size_t>(F * 2));
  std::vector<uint32_t> seen(static_cast<size_t>(F), 0u);
  uint32_t stamp = 0;
  // one output row: premultiplied colour sums (C, W) and covered subpixels (W)
  std::vector<T> acc_v(static_cast<size_t>(C * W)), cov_v(static_cast<size_t>(W));
  std::vector<T> col_v(static_cast<size_t>(C));
  T *acc = acc_v.data(), *cov = cov_v.data(), *col = col_v.data();
  for (int64_t b = b0; b < b1; ++b) {
    const T* vb = verts + b * V * 3;
    const T* pb = points + b * V * 3;
    for (int64_t k = 0; k < V; ++k) {
      const T* v = vb + k * 3;
      front[k] = double(v[2]) > cfg.znear ? 1 : 0;  // setup_face's depth test
      gx[k] = static_cast<float>((double(v[0]) + 1.0) * 0.5 * tc.W - 0.5);
      gy[k] = static_cast<float>((double(v[1]) + 1.0) * 0.5 * tc.H - 0.5);
    }
    int64_t kept = 0;
    for (int64_t f = 0; f < F; ++f) {
      const int64_t* fi = faces + f * 3;
      const int64_t a = fi[0], b2 = fi[1], c = fi[2];
      if (!(front[a] & front[b2] & front[c])) continue;
      if (!covers_centre(gx[a], gx[b2], gx[c], tc.W) || !covers_centre(gy[a], gy[b2], gy[c], tc.H))
        continue;
      std::copy(fi, fi + 3, &kept_faces[kept * 3]);
      kept_id[kept++] = static_cast<int32_t>(f);
    }
    if (++stamp == 0) {  // wrapped: forget every stamp
      std::fill(seen.begin(), seen.end(), 0u);
      stamp = 1;
    }

    TopKConfig tk = tc;
    tk.F = kept;
    collect(tk, vb, kept_faces.data(), L);
    const int32_t* cnt = L.cnt.data();
    const int32_t* lf = L.lf.data();
    const T* lp = L.lp.data();
    for (int64_t i = 0; i < H; ++i) {
      std::fill(acc, acc + C * W, T(0));
      std::fill(cov, cov + W, T(0));
      // subpixel rows in turn: each output pixel sums its window row by row, left to right,
      // the order of avg_pool2d; most subpixels are empty, so the scan is what costs
      for (int64_t si = 0; si < s; ++si) {
        const int64_t row = (i * s + si) * Ws;
        int64_t j = 0, left = s;  // output column of subpixel q, subpixels left in it
        for (int64_t q = 0; q < Ws; ++q) {
          if (cnt[row + q] != 0) {
            const int64_t p = row + q, f = kept_id[lf[p]];
            const T* bary = lp + p * 4;
            const T* fuv = face_uvs + f * 6;
            T u, v;
            slot_uv(fuv, bary, u, v);
            Tap<T> tap;
            tap_at(u, v, Ht, Wt, tap);
            bilinear<NC>(atlas, C, Ht, Wt, tap, col);
            if (seen[f] != stamp) {
              const int64_t* fi = faces + f * 3;
              face_shade(cfg, l, pb + fi[0] * 3, pb + fi[1] * 3, pb + fi[2] * 3, &shade[f * 2]);
              seen[f] = stamp;
            }
            const T lit = shade[f * 2], flip = shade[f * 2 + 1];
            for (int64_t c = 0; c < C; ++c) {
              T x = col[c] * lit;
              if (two_sided) x = std::max(x, col[c] * flip);
              acc[c * W + j] += std::min(std::max(x, T(0)), T(1));
            }
            cov[j] += T(1);
          }
          if (--left == 0) {
            left = s;
            ++j;
          }
        }
      }
      T* ao = alpha + b * HW + i * W;
      for (int64_t j = 0; j < W; ++j) ao[j] = cov[j] / area;
      for (int64_t c = 0; c < C; ++c) {
        const T* bg = background + (b * C + c) * HW + i * W;
        T* o = image + (b * C + c) * HW + i * W;
        const T* ac = acc + c * W;
        for (int64_t j = 0; j < W; ++j)
          o[j] = std::min(std::max(ac[j] / area + (T(1) - ao[j]) * bg[j], T(0)), T(1));
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
