// Point projection of Navaneet et al. (CVPR 2020), scattered per point into its window:
// each point touches only the pixels within radius·σ (mask) or one pixel (colour well) of it
// along both axes, so a pass costs O(N·window + H·W), not O(N·H·W).
//
//   mask(i,j)   = tanh( sum_n exp(-(dx² + dy²) / 2σ²) ),  dx = x_n - (j + 0.5), dy = y_n - (i + 0.5),
//                 over the points with |dx|, |dy| <= radius·σ;
//   l_n         = sharpness / (depth_n + depth_offset + 1e-5);
//   colour(i,j) = sum_n softmax(l)_n rgb_n over the points with |dx|, |dy| <= 1, 0 if none.
//
// The forward fills output rows: for its rows, a thread visits every point of the image in
// order and adds into the pixels of its window that fall in those rows. The backward gathers:
// a thread owns points and revisits each point's window, reading the saved mask, colour and
// softmax statistics, so no two threads write the same value.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "point_splat.h"

namespace rc {
namespace raster {

namespace {

template <typename T>
inline T centre(int64_t k) {
  return static_cast<T>(static_cast<double>(k) + 0.5);
}

// The pixels [lo, hi] along an axis of n pixels whose centre satisfies |v - centre| <= half,
// evaluated in T exactly as the reference evaluates it, so both visit the same pixels.
// Empty when lo > hi.
template <typename T>
inline void axis_window(T v, T half, int64_t n, int64_t& lo, int64_t& hi) {
  // The integers between the real bounds v - 0.5 ∓ half, found in double and clamped before
  // the conversion (a coordinate can be huge); the test in T then trims rounding cases. The
  // accepted set is an interval: |v - centre| grows away from v.
  const double a = std::floor(static_cast<double>(v) - 0.5 - static_cast<double>(half));
  const double b = std::ceil(static_cast<double>(v) - 0.5 + static_cast<double>(half));
  lo = static_cast<int64_t>(std::min(std::max(a, 0.0), static_cast<double>(n)));
  hi = static_cast<int64_t>(std::min(std::max(b, -1.0), static_cast<double>(n - 1)));
  while (lo <= hi && !(std::abs(v - centre<T>(lo)) <= half)) ++lo;
  while (hi >= lo && !(std::abs(v - centre<T>(hi)) <= half)) --hi;
}

// The z-buffer logit; the forward and the backward must compute it bit for bit alike.
template <typename T>
inline T depth_logit(const SplatConfig& cfg, T depth) {
  return static_cast<T>(cfg.sharpness) /
         (depth + static_cast<T>(cfg.depth_offset + kSplatDepthEps));
}

template <typename T>
T window_half(const SplatConfig& cfg) {
  return static_cast<T>(cfg.radius * std::sqrt(cfg.sigma2));
}

// exp(-d²/2σ²) = exp(-d² c) along one axis of the Gaussian, c = 1/2σ².
template <typename T>
T gauss_rate(const SplatConfig& cfg) {
  return static_cast<T>(0.5 / cfg.sigma2);
}

// Rows [i0, i1) of image b's mask.
template <typename T>
void mask_rows(const SplatConfig& cfg, const T* xy, T* mask, int64_t i0, int64_t i1,
               std::vector<T>& gx) {
  const int64_t H = cfg.H, W = cfg.W;
  const T half = window_half<T>(cfg), rate = gauss_rate<T>(cfg);
  std::fill(mask + i0 * W, mask + i1 * W, T(0));
  for (int64_t n = 0; n < cfg.N; ++n) {
    const T x = xy[2 * n], y = xy[2 * n + 1];
    int64_t r0, r1, c0, c1;
    axis_window(y, half, H, r0, r1);
    r0 = std::max(r0, i0);
    r1 = std::min(r1, i1 - 1);
    if (r0 > r1) continue;
    axis_window(x, half, W, c0, c1);
    if (c0 > c1) continue;
    gx.resize(static_cast<size_t>(c1 - c0 + 1));
    for (int64_t j = c0; j <= c1; ++j) {
      const T dx = x - centre<T>(j);
      gx[j - c0] = std::exp(-(dx * dx) * rate);
    }
    for (int64_t i = r0; i <= r1; ++i) {
      const T dy = y - centre<T>(i);
      const T gy = std::exp(-(dy * dy) * rate);
      T* row = mask + i * W;
      for (int64_t j = c0; j <= c1; ++j) row[j] += gy * gx[j - c0];
    }
  }
  for (int64_t q = i0 * W; q < i1 * W; ++q) mask[q] = std::tanh(mask[q]);
}

// Calls f(i, j) for the pixels of rows [i0, i1) in the colour well of (x, y), row-major.
template <typename T, typename F>
inline void for_well(const SplatConfig& cfg, T x, T y, int64_t i0, int64_t i1, F&& f) {
  const T well = static_cast<T>(kSplatWell);
  int64_t r0, r1, c0, c1;
  axis_window(y, well, cfg.H, r0, r1);
  r0 = std::max(r0, i0);
  r1 = std::min(r1, i1 - 1);
  if (r0 > r1) return;
  axis_window(x, well, cfg.W, c0, c1);
  for (int64_t i = r0; i <= r1; ++i)
    for (int64_t j = c0; j <= c1; ++j) f(i, j);
}

// Rows [i0, i1) of image b's colour and softmax statistics: a first pass finds each pixel's
// largest logit, so that every exp argument of the second is <= 0.
template <typename T>
void colour_rows(const SplatConfig& cfg, const T* xy, const T* depth, const T* rgb, T* colour,
                 T* aux, int64_t i0, int64_t i1) {
  const int64_t W = cfg.W, HW = cfg.H * W, C = cfg.C;
  T* top = aux;
  T* norm = aux + HW;
  std::fill(top + i0 * W, top + i1 * W, -std::numeric_limits<T>::infinity());
  std::fill(norm + i0 * W, norm + i1 * W, T(0));
  for (int64_t c = 0; c < C; ++c) std::fill(colour + c * HW + i0 * W, colour + c * HW + i1 * W, T(0));
  for (int64_t n = 0; n < cfg.N; ++n) {
    const T l = depth_logit(cfg, depth[n]);
    for_well(cfg, xy[2 * n], xy[2 * n + 1], i0, i1, [&](int64_t i, int64_t j) {
      T& m = top[i * W + j];
      m = std::max(m, l);
    });
  }
  for (int64_t n = 0; n < cfg.N; ++n) {
    const T l = depth_logit(cfg, depth[n]);
    const T* c_n = rgb + n * C;
    for_well(cfg, xy[2 * n], xy[2 * n + 1], i0, i1, [&](int64_t i, int64_t j) {
      const int64_t q = i * W + j;
      const T e = std::exp(l - top[q]);
      norm[q] += e;
      for (int64_t c = 0; c < C; ++c) colour[c * HW + q] += e * c_n[c];
    });
  }
  for (int64_t q = i0 * W; q < i1 * W; ++q) {
    if (norm[q] > T(0)) {
      for (int64_t c = 0; c < C; ++c) colour[c * HW + q] /= norm[q];
    } else {
      top[q] = T(0);  // an empty well: no point reads it, but it stays finite
    }
  }
}

}  // namespace

template <typename T>
void splat_forward(const SplatConfig& cfg, const T* xy, const T* depth, const T* rgb, T* mask,
                   T* colour, T* aux, int64_t r0, int64_t r1) {
  const int64_t H = cfg.H, HW = H * cfg.W, N = cfg.N, C = cfg.C;
  std::vector<T> gx;
  for (int64_t r = r0; r < r1;) {
    const int64_t b = r / H, i0 = r % H, i1 = std::min(H, i0 + (r1 - r));
    mask_rows(cfg, xy + b * N * 2, mask + b * HW, i0, i1, gx);
    if (C > 0)
      colour_rows(cfg, xy + b * N * 2, depth + b * N, rgb + b * N * C, colour + b * C * HW,
                  aux + b * 2 * HW, i0, i1);
    r += i1 - i0;
  }
}

template <typename T>
void splat_backward(const SplatConfig& cfg, const T* xy, const T* depth, const T* rgb,
                    const T* mask, const T* colour, const T* aux, const T* grad_mask,
                    const T* grad_colour, T* grad_xy, T* grad_depth, T* grad_rgb, int64_t p0,
                    int64_t p1) {
  const int64_t H = cfg.H, W = cfg.W, HW = H * W, N = cfg.N, C = cfg.C;
  const T half = window_half<T>(cfg), rate = gauss_rate<T>(cfg);
  std::vector<T> gx, dxs;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / N;
    const T x = xy[2 * p], y = xy[2 * p + 1];
    T ax = 0, ay = 0;
    int64_t r0, r1, c0, c1;
    axis_window(y, half, H, r0, r1);
    axis_window(x, half, W, c0, c1);
    if (grad_mask != nullptr && r0 <= r1 && c0 <= c1) {
      const T* m_b = mask + b * HW;
      const T* g_b = grad_mask + b * HW;
      gx.resize(static_cast<size_t>(c1 - c0 + 1));
      dxs.resize(gx.size());
      for (int64_t j = c0; j <= c1; ++j) {
        dxs[j - c0] = x - centre<T>(j);
        gx[j - c0] = std::exp(-(dxs[j - c0] * dxs[j - c0]) * rate);
      }
      for (int64_t i = r0; i <= r1; ++i) {
        const T dy = y - centre<T>(i);
        const T gy = std::exp(-(dy * dy) * rate);
        for (int64_t j = c0; j <= c1; ++j) {
          const int64_t q = i * W + j;
          // d tanh(S)/dS = 1 - tanh²
          const T g = g_b[q] * (T(1) - m_b[q] * m_b[q]) * gy * gx[j - c0];
          ax += g * dxs[j - c0];
          ay += g * dy;
        }
      }
    }
    grad_xy[2 * p] = -T(2) * rate * ax;
    grad_xy[2 * p + 1] = -T(2) * rate * ay;
    if (C == 0) continue;

    T* gc_n = grad_rgb + p * C;
    std::fill(gc_n, gc_n + C, T(0));
    T glogit = 0;
    const T l = depth_logit(cfg, depth[p]);
    if (grad_colour != nullptr) {
      const T* top = aux + b * 2 * HW;
      const T* norm = top + HW;
      const T* col = colour + b * C * HW;
      const T* g_b = grad_colour + b * C * HW;
      const T* c_n = rgb + p * C;
      for_well(cfg, x, y, int64_t(0), H, [&](int64_t i, int64_t j) {
        const int64_t q = i * W + j;
        const T w = std::exp(l - top[q]) / norm[q];
        // d colour_c / d l_n = w_n (rgb_nc - colour_c)
        T own = 0, mixed = 0;
        for (int64_t c = 0; c < C; ++c) {
          const T g = g_b[c * HW + q];
          own += g * c_n[c];
          mixed += g * col[c * HW + q];
          gc_n[c] += w * g;
        }
        glogit += w * (own - mixed);
      });
    }
    // dl/d depth = -sharpness / (depth + offset + eps)² = -l / (depth + offset + eps)
    grad_depth[p] = -glogit * l / (depth[p] + static_cast<T>(cfg.depth_offset + kSplatDepthEps));
  }
}

template void splat_forward<float>(const SplatConfig&, const float*, const float*, const float*,
                                   float*, float*, float*, int64_t, int64_t);
template void splat_forward<double>(const SplatConfig&, const double*, const double*,
                                    const double*, double*, double*, double*, int64_t, int64_t);
template void splat_backward<float>(const SplatConfig&, const float*, const float*, const float*,
                                    const float*, const float*, const float*, const float*,
                                    const float*, float*, float*, float*, int64_t, int64_t);
template void splat_backward<double>(const SplatConfig&, const double*, const double*,
                                     const double*, const double*, const double*, const double*,
                                     const double*, const double*, double*, double*, double*,
                                     int64_t, int64_t);

}  // namespace raster
}  // namespace rc
