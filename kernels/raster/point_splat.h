// Differentiable point projection (Navaneet et al., CVPR 2020, "Gaussian splat" mask and
// depth-aware soft z-buffer colour), over points already in pixel coordinates: raw pointers
// only, no torch. The binding (src/rc_raster_points.cpp) validates, allocates and splits the
// work over threads; see README.md in this folder for the formulas.
//
// Pixel (i, j) has its centre at x = j + 0.5, y = i + 0.5 (pixel units, row 0 at the top).
// Threads split the forward by output rows and the backward by points. Every pixel sums its
// points in point order and every point sums its pixels in row-major order, whatever the split,
// so 1 and N threads give bitwise identical results without atomics.
#pragma once
#include <cstdint>

namespace rc {
namespace raster {

// Half-width of the colour well, pixels: a point colours the pixels whose centre lies within
// one pixel of it along both axes (the paper's code).
constexpr double kSplatWell = 1.0;
// Added to depth + depth_offset in the logit sharpness / (depth + depth_offset + eps), as the
// paper's 100 / (d + 1e-5).
constexpr double kSplatDepthEps = 1e-5;

struct SplatConfig {
  int64_t B = 0, N = 0, C = 0;  // images, points per image, colour channels (0 = mask only)
  int64_t H = 0, W = 0;
  double sigma2 = 0.4;       // Gaussian variance, px^2
  double radius = 3.0;       // truncation half-width per axis, in sigmas
  double sharpness = 100.0;  // numerator of the z-buffer logit
  double depth_offset = 1.0; // the paper's d = z + 1
};

// xy: (B,N,2) pixel coordinates; depth: (B,N) and rgb: (B,N,C), both null when C = 0.
// Writes the output rows [r0, r1) of the flattened (B*H) rows:
//   mask (B,1,H,W) = tanh(sum of the truncated Gaussians);
//   colour (B,C,H,W) = softmax-weighted rgb of the in-well points, 0 where there is none;
//   aux (B,2,H,W): the softmax's per-pixel max logit (0 where no point is in the well) and
//   its normaliser Z (0 there), which the backward reads.
template <typename T>
void splat_forward(const SplatConfig& cfg, const T* xy, const T* depth, const T* rgb, T* mask,
                   T* colour, T* aux, int64_t r0, int64_t r1);

// Gradients of the points [p0, p1) of the flattened (B*N) points, overwritten:
//   grad_xy (B,N,2) from grad_mask (B,1,H,W) (null = zero; the colour gives xy no gradient:
//   the well is a hard selection);
//   grad_depth (B,N) and grad_rgb (B,N,C) from grad_colour (B,C,H,W) (null = zero), when C > 0.
template <typename T>
void splat_backward(const SplatConfig& cfg, const T* xy, const T* depth, const T* rgb,
                    const T* mask, const T* colour, const T* aux, const T* grad_mask,
                    const T* grad_colour, T* grad_xy, T* grad_depth, T* grad_rgb, int64_t p0,
                    int64_t p1);

}  // namespace raster
}  // namespace rc
