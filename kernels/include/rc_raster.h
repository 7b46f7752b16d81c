/* Differentiable CPU rasterizers (see kernels/raster/README.md).
 *
 * Both ops are libtorch autograd functions: the returned tensors carry a grad_fn, so calling
 * backward on anything computed from them reaches the inputs. Inputs are float32 or float64
 * CPU tensors (made contiguous internally); outputs have the input dtype unless stated.
 *
 * Screen conventions: pixel (i, j) has its centre at NDC x = (2j+1)/W - 1, y = (2i+1)/H - 1
 * (x right, y down, y = -1 the top edge); a face is front-facing when counter-clockwise seen
 * from outside, i.e. its doubled signed area (x1-x0)(y2-y0) - (y1-y0)(x2-x0) is negative.
 * Faces with any vertex depth z <= znear are dropped (not clipped).
 *
 * `simd` (the mesh ops): nonzero runs the AVX2+FMA kernels where the op has them (float32) and
 * the CPU supports them (rc_raster_simd_available), 0 the portable path. It applies to that
 * call (and its backward) only: there is no process-wide switch.
 *
 * Every function returns RC_OK, or RC_ERROR with a message in rc_error_message(). Output
 * handles are written to `outs` only on success; the caller owns and frees them. */
#ifndef RC_RASTER_H
#define RC_RASTER_H

#include "rc_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SoftRas soft rasterizer with fused aggregation.
 *   face_vertices: (N,F,3,3) [x_ndc, y_ndc, z_view] per face vertex, float32/float64
 *   face_colors:   (N,F,3,C) per-vertex colours, same dtype; NULL = silhouette only (C = 0)
 *   sigma: sharpness of D = sigmoid(+-d^2/sigma) (d in NDC); gamma: depth softmax temperature;
 *   eps_bg: background depth term of the softmax; dist_eps: outside pairs with D < dist_eps are
 *   skipped; znear < zfar: depth range (zfar only gates colour); double_side != 0: back faces
 *   also contribute colour (alpha always counts both sides);
 *   background: C values (NULL = zeros), ignored when face_colors is NULL.
 * outs[0] <- image (N,C+1,H,W): the C colour channels, then alpha = 1 - prod(1 - D).
 * Differentiable w.r.t. face_vertices (x, y, and z through the colour softmax) and face_colors. */
RC_API int rc_raster_soft(const rc_tensor* face_vertices, const rc_tensor* face_colors,
                          int64_t height, int64_t width, double sigma, double gamma,
                          double eps_bg, double dist_eps, double znear, double zfar,
                          int double_side, const double* background, int simd,
                          rc_tensor** outs);

/* Top-K rasterizer (PyTorch3D Fragments).
 *   verts: (N,V,3) [x_ndc, y_ndc, z_view], float32/float64; faces: (F,3) int64 (int32 accepted)
 *   shared by the batch, indices in [0, V).
 *   faces_per_pixel K >= 1; blur_radius >= 0 is a SQUARED NDC distance (outside pairs kept if
 *   d^2 < blur_radius); perspective_correct != 0: barycentrics and depth interpolated in 1/z;
 *   cull_backfaces != 0: drop back faces; znear >= 0: faces with any z <= znear are dropped,
 *   and pairs whose interpolated depth is <= znear are skipped.
 * outs[0] <- pix_to_face (N,H,W,K) int64: face index in the mesh, -1 = empty, nearest first
 * outs[1] <- bary        (N,H,W,K,3): barycentrics (-1 in empty slots); with blur_radius > 0
 *                        clipped (clamped to >= 0, renormalised) as PyTorch3D does
 * outs[2] <- zbuf        (N,H,W,K): depth at bary, the sort key (-1 in empty slots)
 * outs[3] <- dists       (N,H,W,K): signed squared NDC distance, negative inside (-1 empty)
 * outs[4] <- overflow    (N) int64: pixels that had more than K candidates (K truncated them)
 * bary, zbuf and dists are differentiable w.r.t. verts. */
RC_API int rc_raster_topk(const rc_tensor* verts, const rc_tensor* faces, int64_t height,
                          int64_t width, int64_t faces_per_pixel, double blur_radius,
                          int perspective_correct, int cull_backfaces, double znear, int simd,
                          rc_tensor** outs);

/* UNICORN's textured render, fused: rc_raster_topk's K nearest faces per pixel (not written
 * out), UVs interpolated with the output barycentrics, bilinear texture sampling as
 * grid_sample (border padding, align_corners = false, u right and v down in [0,1]), and the
 * layered blend front to back over a constant background:
 *   alpha_j = exp(-max(d_j, 0)/sigma), T_j = prod_{i<j}(1 - alpha_i),
 *   rgb = sum_j T_j alpha_j c_j + T_end background, alpha = 1 - T_end.
 *   verts, faces, height ... znear: as rc_raster_topk; face_uvs: (F,3,2) per face corner, same
 *   dtype as verts, must not require grad; uv_image: (N,C,Ht,Wt) same dtype; sigma > 0;
 *   background: C values (NULL = zeros).
 * outs[0] <- rgb (N,C,H,W), outs[1] <- alpha (N,1,H,W).
 * Differentiable w.r.t. verts and uv_image; equals rasterize -> interpolate -> grid_sample ->
 * layered blend composed from tensor ops, without their 28 B per slot of fragments. */
RC_API int rc_raster_layered(const rc_tensor* verts, const rc_tensor* faces,
                             const rc_tensor* face_uvs, const rc_tensor* uv_image,
                             int64_t height, int64_t width, int64_t faces_per_pixel,
                             double blur_radius, double sigma, int perspective_correct,
                             int cull_backfaces, double znear, const double* background,
                             int simd, rc_tensor** outs);

/* Hard textured render for datasets and evaluation, one pass per image, NOT differentiable
 * (the outputs are constants whatever the inputs require). At supersample s it rasterizes
 * (H s, W s) subpixels exactly as rc_raster_topk with K = 1, blur_radius 0, perspective_correct,
 * no culling; a covered subpixel samples the atlas at its interpolated UV as grid_sample
 * (bilinear, border padding, align_corners = false, u right and v down in [0,1]) and is lit by
 *   t (ambient + diffuse max(cos, 0)),  cos = <n/|n|, l/|l|>,  n = (p1-p0) x (p2-p0)
 * from the face's camera-frame points (two_sided != 0: the channelwise max of that and the
 * same with -cos), clamped to [0,1]. Each output pixel averages its s^2 subpixels as
 * premultiplied colour (empty ones add 0) and coverage, then composites:
 *   image = clamp(rgb + (1 - alpha) background, 0, 1).
 *   verts: (N,V,3) [x_ndc, y_ndc, z_view], float32/float64; points: (N,V,3) the same vertices
 *   in the camera frame, same dtype; faces: (F,3) int64 (int32 accepted); face_uvs: (F,3,2);
 *   atlas: (C,Ht,Wt) shared by the batch; background: (N,C,H,W) sets the output size; all
 *   float inputs of the dtype of verts. supersample >= 1; znear >= 0 as rc_raster_topk;
 *   ambient, diffuse: finite; light_direction: 3 values towards the light, non-zero.
 * outs[0] <- image (N,C,H,W), outs[1] <- alpha (N,1,H,W). */
RC_API int rc_raster_hard_textured(const rc_tensor* verts, const rc_tensor* points,
                                   const rc_tensor* faces, const rc_tensor* face_uvs,
                                   const rc_tensor* atlas, const rc_tensor* background,
                                   int64_t supersample, double znear, double ambient,
                                   double diffuse, const double* light_direction, int two_sided,
                                   int simd, rc_tensor** outs);

/* Point projection of Navaneet et al. (CVPR 2020) over points already in PIXEL coordinates
 * (not NDC): pixel (i, j) has its centre at x = j + 0.5, y = i + 0.5, row 0 at the top.
 *   xy: (B,N,2) float32/float64; depth: (B,N) positive view depth and rgb: (B,N,C), C >= 1,
 *   both of the dtype of xy, or both NULL for the mask alone. sigma2 > 0: the Gaussian's
 *   variance in px^2 (the paper's 0.4); radius > 0: truncation half-width per axis, in sigmas;
 *   sharpness > 0 and depth_offset: the z-buffer logit sharpness / (depth + depth_offset + 1e-5)
 *   (the paper's 100 and 1); depth + depth_offset + 1e-5 must be > 0. xy and depth must be finite.
 * outs[0] <- mask (B,1,H,W) = tanh(sum_n exp(-(dx^2 + dy^2) / (2 sigma2))) over the points with
 *            |dx|, |dy| <= radius sqrt(sigma2), dx = x_n - (j + 0.5), dy = y_n - (i + 0.5);
 * outs[1] <- colour (B,C,H,W) (only with rgb) = sum_n softmax(logit)_n rgb_n over the points in
 *            the pixel's well, |dx|, |dy| <= 1; 0 where the well is empty.
 * The mask is differentiable w.r.t. xy; the colour w.r.t. depth and rgb only (the well is a
 * hard selection, as in the paper's code). */
RC_API int rc_raster_points(const rc_tensor* xy, const rc_tensor* depth, const rc_tensor* rgb,
                            int64_t height, int64_t width, double sigma2, double radius,
                            double sharpness, double depth_offset, rc_tensor** outs);

/* 1 if the CPU supports the AVX2+FMA path (what `simd` != 0 asks for), else 0. */
RC_API int rc_raster_simd_available(void);

#ifdef __cplusplus
}
#endif

#endif
