// Pure CPU rasterizer kernels: raw pointers only, no torch/ATen. The torch binding
// (src/rc_raster.cpp) validates inputs, allocates outputs and splits the batch over threads;
// every function here processes whole images [b0, b1), so a thread owns its images and the
// result does not depend on the thread count.
//
// Conventions (see README.md in this folder):
//  - pixel (i, j) has its centre at NDC x = (2j+1)/W - 1, y = (2i+1)/H - 1 (x right, y down,
//    y = -1 is the top edge, as grid_sample with align_corners = false);
//  - a face (v0, v1, v2) is front-facing when its doubled signed screen area
//    (x1-x0)(y2-y0) - (y1-y0)(x2-x0) is negative (counter-clockwise seen from outside,
//    camera x right / y down / z forward);
//  - a face with any vertex depth z <= znear is dropped entirely (no clipping), so nothing
//    behind the camera can divide by a small or negative depth.
#pragma once
#include <cstdint>
#include <vector>

namespace rc {
namespace raster {

// SoftRas-style fused rasterize + aggregate.
struct SoftConfig {
  int64_t N = 0, F = 0, C = 0;  // images, faces per image, colour channels (0 = silhouette)
  int64_t H = 0, W = 0;
  double sigma = 1e-4;     // D = sigmoid(sign * d^2 / sigma), d in NDC units
  double gamma = 1e-4;     // softmax temperature over normalised depth
  double eps_bg = 1e-3;    // background "depth" in the softmax (SoftRas eps)
  double dist_eps = 1e-4;  // outside pairs with D < dist_eps are skipped
  double znear = 1.0, zfar = 100.0;
  bool double_side = false;        // back faces also contribute colour
  const double* background = nullptr;  // C values or null (= zeros)
  bool simd = false;  // the AVX2 kernels (float32 silhouettes); only when simd_available()
};

// face_vertices: (N,F,3,3) [x, y, z] per vertex; colors: (N,F,3,C) per-vertex colours or null.
// image: (N,C+1,H,W) colours then alpha. aux: (N,A,H,W), A = soft_aux_channels(C):
// T = prod(1-D) and, with colours, the softmax normaliser S and running max m.
inline int64_t soft_aux_channels(int64_t C) { return C > 0 ? 3 : 1; }

template <typename T>
void soft_forward(const SoftConfig& cfg, const T* face_vertices, const T* colors, T* image,
                  T* aux, int64_t b0, int64_t b1);

// grad_image: (N,C+1,H,W). Writes (overwrites) grad_fv (N,F,3,3) and, if colors is not null,
// grad_colors (N,F,3,C).
template <typename T>
void soft_backward(const SoftConfig& cfg, const T* face_vertices, const T* colors,
                   const T* image, const T* aux, const T* grad_image, T* grad_fv,
                   T* grad_colors, int64_t b0, int64_t b1);

// Top-K rasterizer with PyTorch3D Fragments semantics.
struct TopKConfig {
  int64_t N = 0, V = 0, F = 0, H = 0, W = 0, K = 1;
  double blur_radius = 0.0;  // squared NDC distance; outside pairs kept if d^2 < blur_radius
  double znear = 0.0;
  bool perspective_correct = false;
  bool cull_backfaces = false;
  // Lists end at their nearest opaque candidate (signed distance <= 0, i.e. alpha = 1 in the
  // layered blend): what lies behind it cannot show, so it is neither inserted nor kept. The
  // kept prefix is exactly the unpruned list's up to that slot; counts are then kept slots
  // (<= K), not candidates, so there is no overflow report in this mode.
  bool stop_at_opaque = false;
  // The AVX2 traversal (float32; also the layered blend with K <= 8, 3 channels). Set only
  // when simd_available(): the binding checks the CPU.
  bool simd = false;
};

// verts: (N,V,3) [x_ndc, y_ndc, z_view]; faces: (F,3) shared by the batch, indices in [0,V).
// pix_to_face: (N,H,W,K) face index in the mesh or -1; bary: (N,H,W,K,3); zbuf, dists:
// (N,H,W,K) (empty slots: -1). overflow: (N) pixels whose candidate count exceeded K.
template <typename T>
void topk_forward(const TopKConfig& cfg, const T* verts, const int64_t* faces,
                  int64_t* pix_to_face, T* bary, T* zbuf, T* dists, int64_t* overflow,
                  int64_t b0, int64_t b1);

// Writes (overwrites) grad_verts (N,V,3). Any grad pointer may be null (= zero).
template <typename T>
void topk_backward(const TopKConfig& cfg, const T* verts, const int64_t* faces,
                   const int64_t* pix_to_face, const T* grad_bary, const T* grad_zbuf,
                   const T* grad_dists, T* grad_verts, int64_t b0, int64_t b1);

// UNICORN's textured render, fused (layered.cpp): the top-K lists of `topk` (not written out),
// face UVs interpolated with the output barycentrics, bilinear texture sampling with
// grid_sample's semantics (border padding, align_corners = false, v down), and the layered
// blend front to back: alpha_j = exp(-max(d_j, 0)/sigma), T_j = prod_{i<j}(1 - alpha_i),
// rgb = sum_j T_j alpha_j c_j + T_n bg, alpha = 1 - T_n.
struct LayeredConfig {
  TopKConfig topk;
  int64_t C = 3, Ht = 1, Wt = 1;       // texture channels and size
  double sigma = 1e-4;
  const double* background = nullptr;  // C values, or null (= zeros)
};

// verts: (N,V,3); faces: (F,3); face_uvs: (F,3,2) u right, v down in [0,1]; tex: (N,C,Ht,Wt).
// rgb: (N,C,H,W); alpha: (N,H,W). For the backward, per image b, slots[b] receives the face
// index of every filled slot (pixel-major, front to back) and counts (N,H,W) their number.
template <typename T>
void layered_forward(const LayeredConfig& cfg, const T* verts, const int64_t* faces,
                     const T* face_uvs, const T* tex, T* rgb, T* alpha,
                     std::vector<int32_t>* slots, int32_t* counts, int64_t b0, int64_t b1);

// slots: all images' slot faces concatenated, image b from offsets[b]. grad_rgb (N,C,H,W) and
// grad_alpha (N,H,W) may be null (= zero). Writes (overwrites) grad_verts (N,V,3) and
// grad_tex (N,C,Ht,Wt).
template <typename T>
void layered_backward(const LayeredConfig& cfg, const T* verts, const int64_t* faces,
                      const T* face_uvs, const T* tex, const int32_t* slots,
                      const int64_t* offsets, const int32_t* counts, const T* grad_rgb,
                      const T* grad_alpha, T* grad_verts, T* grad_tex, int64_t b0, int64_t b1);

// Whether the CPU has AVX2+FMA. Each call chooses its path through its config's `simd` flag
// (no process-wide switch), so a call comparing both paths cannot race another call.
bool simd_available();

// Hard textured render for datasets and evaluation (hard.cpp), no gradient: the nearest face
// per subpixel by the top-K traversal with K = 1, blur 0 and perspective-correct barycentrics
// (the same fragments as topk_forward), UVs interpolated with them, bilinear atlas lookup as
// grid_sample (border, align_corners = false, v down), ambient + directional light from the
// face normal in the camera frame, clamped to [0, 1], box-filtered over supersample^2
// subpixels as premultiplied colour and coverage, and composited over the background.
struct HardConfig {
  int64_t N = 0, V = 0, F = 0;
  int64_t H = 0, W = 0;         // output size; rasterized at (H*supersample, W*supersample)
  int64_t supersample = 1;
  int64_t C = 3, Ht = 1, Wt = 1;  // atlas channels and size
  double znear = 0.0;
  double ambient = 1.0, diffuse = 0.0;
  double light[3] = {0.0, 0.0, -1.0};  // towards the light, camera frame; need not be unit
  bool two_sided = false;  // colour = max over both normal signs (winding not trusted)
  bool simd = false;       // the AVX2 traversal (float32); only when simd_available()
};

// verts: (N,V,3) [x_ndc, y_ndc, z_view] of the supersampled raster; points: (N,V,3) the same
// vertices in the camera frame (for face normals); faces: (F,3); face_uvs: (F,3,2) u right,
// v down in [0,1]; atlas: (C,Ht,Wt) shared by the batch; background: (N,C,H,W).
// image: (N,C,H,W) in [0,1]; alpha: (N,H,W) covered fraction of each pixel's subpixels.
template <typename T>
void hard_textured_forward(const HardConfig& cfg, const T* verts, const T* points,
                           const int64_t* faces, const T* face_uvs, const T* atlas,
                           const T* background, T* image, T* alpha, int64_t b0, int64_t b1);

}  // namespace raster
}  // namespace rc
