// Torch binding of the raster kernels: input validation, autograd Functions and the C ABI.
// The kernels (raster/*.cpp) only see raw pointers; threads own whole images through
// at::parallel_for, so 1 and N threads give bitwise identical results.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../raster/raster_kernels.h"
#include "binding_checks.h"
#include "rc_raster.h"
#include "tensor_handle.h"

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

using rc::binding::check_float_cpu;
using rc::binding::fail;
using rc::binding::num;

// A call's `simd` argument: AVX2 when asked for and the CPU has it.
bool use_simd(int simd) { return simd != 0 && rc::raster::simd_available(); }

// ---------------------------------------------------------------- soft rasterizer

struct SoftArgs {
  rc::raster::SoftConfig cfg;
  std::vector<double> background;
};

void save_soft(AutogradContext* ctx, const SoftArgs& a) {
  const auto& c = a.cfg;
  ctx->saved_data["H"] = c.H;
  ctx->saved_data["W"] = c.W;
  ctx->saved_data["sigma"] = c.sigma;
  ctx->saved_data["gamma"] = c.gamma;
  ctx->saved_data["eps_bg"] = c.eps_bg;
  ctx->saved_data["dist_eps"] = c.dist_eps;
  ctx->saved_data["znear"] = c.znear;
  ctx->saved_data["zfar"] = c.zfar;
  ctx->saved_data["double_side"] = c.double_side;
  ctx->saved_data["simd"] = c.simd;
  ctx->saved_data["background"] = a.background;
}

SoftArgs load_soft(AutogradContext* ctx) {
  SoftArgs a;
  auto& c = a.cfg;
  c.H = ctx->saved_data["H"].toInt();
  c.W = ctx->saved_data["W"].toInt();
  c.sigma = ctx->saved_data["sigma"].toDouble();
  c.gamma = ctx->saved_data["gamma"].toDouble();
  c.eps_bg = ctx->saved_data["eps_bg"].toDouble();
  c.dist_eps = ctx->saved_data["dist_eps"].toDouble();
  c.znear = ctx->saved_data["znear"].toDouble();
  c.zfar = ctx->saved_data["zfar"].toDouble();
  c.double_side = ctx->saved_data["double_side"].toBool();
  c.simd = ctx->saved_data["simd"].toBool();
  a.background = ctx->saved_data["background"].toDoubleVector();
  return a;
}

struct SoftRasterFn : public torch::autograd::Function<SoftRasterFn> {
  // fv: (N,F,3,3); colors: (N,F,3,C) or none. Returns {image (N,C+1,H,W), aux (N,A,H,W)}.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& fv_in,
                               const c10::optional<at::Tensor>& colors_in, SoftArgs args) {
    at::Tensor fv = fv_in.contiguous();
    at::Tensor colors = colors_in.has_value() ? colors_in->contiguous() : at::Tensor();
    auto& cfg = args.cfg;
    cfg.N = fv.size(0);
    cfg.F = fv.size(1);
    cfg.C = colors.defined() ? colors.size(3) : 0;
    cfg.background = args.background.empty() ? nullptr : args.background.data();
    const int64_t A = rc::raster::soft_aux_channels(cfg.C);
    at::Tensor image = at::empty({cfg.N, cfg.C + 1, cfg.H, cfg.W}, fv.options());
    at::Tensor aux = at::empty({cfg.N, A, cfg.H, cfg.W}, fv.options());
    AT_DISPATCH_FLOATING_TYPES(fv.scalar_type(), "rc_raster_soft", [&] {
      const scalar_t* pf = fv.data_ptr<scalar_t>();
      const scalar_t* pc = colors.defined() ? colors.data_ptr<scalar_t>() : nullptr;
      scalar_t* pi = image.data_ptr<scalar_t>();
      scalar_t* pa = aux.data_ptr<scalar_t>();
      const auto c = cfg;
      at::parallel_for(0, cfg.N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::soft_forward<scalar_t>(c, pf, pc, pi, pa, b0, b1);
      });
    });
    save_soft(ctx, args);
    ctx->save_for_backward({fv, colors, image, aux});
    ctx->mark_non_differentiable({aux});
    return {image, aux};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor fv = saved[0], colors = saved[1], image = saved[2], aux = saved[3];
    SoftArgs args = load_soft(ctx);
    auto& cfg = args.cfg;
    cfg.N = fv.size(0);
    cfg.F = fv.size(1);
    cfg.C = colors.defined() ? colors.size(3) : 0;
    cfg.background = args.background.empty() ? nullptr : args.background.data();
    at::Tensor gimg = grads[0].defined() ? grads[0].contiguous() : at::zeros_like(image);
    at::Tensor gfv = at::empty_like(fv);
    at::Tensor gcol = colors.defined() ? at::empty_like(colors) : at::Tensor();
    AT_DISPATCH_FLOATING_TYPES(fv.scalar_type(), "rc_raster_soft_backward", [&] {
      const scalar_t* pf = fv.data_ptr<scalar_t>();
      const scalar_t* pc = colors.defined() ? colors.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pi = image.data_ptr<scalar_t>();
      const scalar_t* pa = aux.data_ptr<scalar_t>();
      const scalar_t* pg = gimg.data_ptr<scalar_t>();
      scalar_t* pgf = gfv.data_ptr<scalar_t>();
      scalar_t* pgc = gcol.defined() ? gcol.data_ptr<scalar_t>() : nullptr;
      const auto c = cfg;
      at::parallel_for(0, cfg.N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::soft_backward<scalar_t>(c, pf, pc, pi, pa, pg, pgf, pgc, b0, b1);
      });
    });
    return {gfv, gcol, at::Tensor()};
  }
};

// ---------------------------------------------------------------- top-K rasterizer

struct TopKFn : public torch::autograd::Function<TopKFn> {
  // verts: (N,V,3); faces: (F,3) int64. Returns {pix_to_face, bary, zbuf, dists, overflow}.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& verts_in,
                               const at::Tensor& faces_in, rc::raster::TopKConfig cfg) {
    at::Tensor verts = verts_in.contiguous();
    at::Tensor faces = faces_in.contiguous();
    cfg.N = verts.size(0);
    cfg.V = verts.size(1);
    cfg.F = faces.size(0);
    const int64_t N = cfg.N, H = cfg.H, W = cfg.W, K = cfg.K;
    auto opts = verts.options();
    auto lopts = opts.dtype(at::kLong);
    at::Tensor p2f = at::empty({N, H, W, K}, lopts);
    at::Tensor bary = at::empty({N, H, W, K, 3}, opts);
    at::Tensor zbuf = at::empty({N, H, W, K}, opts);
    at::Tensor dists = at::empty({N, H, W, K}, opts);
    at::Tensor overflow = at::empty({N}, lopts);
    AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "rc_raster_topk", [&] {
      const scalar_t* pv = verts.data_ptr<scalar_t>();
      const int64_t* pf = faces.data_ptr<int64_t>();
      int64_t* pp = p2f.data_ptr<int64_t>();
      scalar_t* pb = bary.data_ptr<scalar_t>();
      scalar_t* pz = zbuf.data_ptr<scalar_t>();
      scalar_t* pd = dists.data_ptr<scalar_t>();
      int64_t* po = overflow.data_ptr<int64_t>();
      const auto c = cfg;
      at::parallel_for(0, N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::topk_forward<scalar_t>(c, pv, pf, pp, pb, pz, pd, po, b0, b1);
      });
    });
    ctx->saved_data["H"] = cfg.H;
    ctx->saved_data["W"] = cfg.W;
    ctx->saved_data["K"] = cfg.K;
    ctx->saved_data["blur"] = cfg.blur_radius;
    ctx->saved_data["znear"] = cfg.znear;
    ctx->saved_data["persp"] = cfg.perspective_correct;
    ctx->saved_data["cull"] = cfg.cull_backfaces;
    ctx->save_for_backward({verts, faces, p2f});
    ctx->mark_non_differentiable({p2f, overflow});
    return {p2f, bary, zbuf, dists, overflow};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor verts = saved[0], faces = saved[1], p2f = saved[2];
    rc::raster::TopKConfig cfg;
    cfg.N = verts.size(0);
    cfg.V = verts.size(1);
    cfg.F = faces.size(0);
    cfg.H = ctx->saved_data["H"].toInt();
    cfg.W = ctx->saved_data["W"].toInt();
    cfg.K = ctx->saved_data["K"].toInt();
    cfg.blur_radius = ctx->saved_data["blur"].toDouble();
    cfg.znear = ctx->saved_data["znear"].toDouble();
    cfg.perspective_correct = ctx->saved_data["persp"].toBool();
    cfg.cull_backfaces = ctx->saved_data["cull"].toBool();
    at::Tensor gb = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    at::Tensor gz = grads[2].defined() ? grads[2].contiguous() : at::Tensor();
    at::Tensor gd = grads[3].defined() ? grads[3].contiguous() : at::Tensor();
    at::Tensor gv = at::empty_like(verts);
    AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "rc_raster_topk_backward", [&] {
      const scalar_t* pv = verts.data_ptr<scalar_t>();
      const int64_t* pf = faces.data_ptr<int64_t>();
      const int64_t* pp = p2f.data_ptr<int64_t>();
      const scalar_t* pgb = gb.defined() ? gb.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pgz = gz.defined() ? gz.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pgd = gd.defined() ? gd.data_ptr<scalar_t>() : nullptr;
      scalar_t* pgv = gv.data_ptr<scalar_t>();
      const auto c = cfg;
      at::parallel_for(0, cfg.N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::topk_backward<scalar_t>(c, pv, pf, pp, pgb, pgz, pgd, pgv, b0, b1);
      });
    });
    return {gv, at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- fused textured layered render

struct LayeredArgs {
  rc::raster::LayeredConfig cfg;
  std::vector<double> background;
};

struct LayeredFn : public torch::autograd::Function<LayeredFn> {
  // verts (N,V,3), faces (F,3) int64, face_uvs (F,3,2), tex (N,C,Ht,Wt).
  // Returns {rgb (N,C,H,W), alpha (N,1,H,W)}; differentiable w.r.t. verts and tex.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& verts_in,
                               const at::Tensor& faces_in, const at::Tensor& face_uvs_in,
                               const at::Tensor& tex_in, LayeredArgs args) {
    at::Tensor verts = verts_in.contiguous(), faces = faces_in.contiguous();
    at::Tensor fuv = face_uvs_in.contiguous(), tex = tex_in.contiguous();
    auto& cfg = args.cfg;
    auto& tc = cfg.topk;
    tc.N = verts.size(0);
    tc.V = verts.size(1);
    tc.F = faces.size(0);
    cfg.C = tex.size(1);
    cfg.Ht = tex.size(2);
    cfg.Wt = tex.size(3);
    cfg.background = args.background.empty() ? nullptr : args.background.data();
    const int64_t N = tc.N, H = tc.H, W = tc.W;
    at::Tensor rgb = at::empty({N, cfg.C, H, W}, verts.options());
    at::Tensor alpha = at::empty({N, 1, H, W}, verts.options());
    at::Tensor counts = at::empty({N, H, W}, verts.options().dtype(at::kInt));
    // per image: the face of every filled slot, variable length, gathered after the threads
    std::vector<std::vector<int32_t>> slots(static_cast<size_t>(N));
    AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "rc_raster_layered", [&] {
      const scalar_t* pv = verts.data_ptr<scalar_t>();
      const int64_t* pf = faces.data_ptr<int64_t>();
      const scalar_t* pu = fuv.data_ptr<scalar_t>();
      const scalar_t* pt = tex.data_ptr<scalar_t>();
      scalar_t* pr = rgb.data_ptr<scalar_t>();
      scalar_t* pa = alpha.data_ptr<scalar_t>();
      int32_t* pc = counts.data_ptr<int32_t>();
      const auto c = cfg;
      at::parallel_for(0, N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::layered_forward<scalar_t>(c, pv, pf, pu, pt, pr, pa, slots.data(), pc, b0, b1);
      });
    });
    at::Tensor offsets = at::empty({N + 1}, verts.options().dtype(at::kLong));
    int64_t* po = offsets.data_ptr<int64_t>();
    po[0] = 0;
    for (int64_t b = 0; b < N; ++b) po[b + 1] = po[b] + static_cast<int64_t>(slots[b].size());
    at::Tensor flat = at::empty({po[N]}, verts.options().dtype(at::kInt));
    int32_t* pfl = flat.data_ptr<int32_t>();
    for (int64_t b = 0; b < N; ++b) std::copy(slots[b].begin(), slots[b].end(), pfl + po[b]);

    ctx->saved_data["H"] = tc.H;
    ctx->saved_data["W"] = tc.W;
    ctx->saved_data["K"] = tc.K;
    ctx->saved_data["blur"] = tc.blur_radius;
    ctx->saved_data["znear"] = tc.znear;
    ctx->saved_data["persp"] = tc.perspective_correct;
    ctx->saved_data["cull"] = tc.cull_backfaces;
    ctx->saved_data["sigma"] = cfg.sigma;
    ctx->saved_data["simd"] = tc.simd;
    ctx->saved_data["background"] = args.background;
    ctx->save_for_backward({verts, faces, fuv, tex, flat, offsets, counts});
    // an unused output needs no zero-filled gradient
    ctx->set_materialize_grads(false);
    return {rgb, alpha};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor verts = saved[0], faces = saved[1], fuv = saved[2], tex = saved[3];
    at::Tensor flat = saved[4], offsets = saved[5], counts = saved[6];
    rc::raster::LayeredConfig cfg;
    auto& tc = cfg.topk;
    tc.N = verts.size(0);
    tc.V = verts.size(1);
    tc.F = faces.size(0);
    tc.H = ctx->saved_data["H"].toInt();
    tc.W = ctx->saved_data["W"].toInt();
    tc.K = ctx->saved_data["K"].toInt();
    tc.blur_radius = ctx->saved_data["blur"].toDouble();
    tc.znear = ctx->saved_data["znear"].toDouble();
    tc.perspective_correct = ctx->saved_data["persp"].toBool();
    tc.cull_backfaces = ctx->saved_data["cull"].toBool();
    cfg.sigma = ctx->saved_data["sigma"].toDouble();
    tc.simd = ctx->saved_data["simd"].toBool();
    std::vector<double> background = ctx->saved_data["background"].toDoubleVector();
    cfg.background = background.empty() ? nullptr : background.data();
    cfg.C = tex.size(1);
    cfg.Ht = tex.size(2);
    cfg.Wt = tex.size(3);
    at::Tensor grgb = grads[0].defined() ? grads[0].contiguous() : at::Tensor();
    at::Tensor galpha = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    at::Tensor gv = at::empty_like(verts);
    at::Tensor gt = at::empty_like(tex);
    AT_DISPATCH_FLOATING_TYPES(verts.scalar_type(), "rc_raster_layered_backward", [&] {
      const scalar_t* pv = verts.data_ptr<scalar_t>();
      const int64_t* pf = faces.data_ptr<int64_t>();
      const scalar_t* pu = fuv.data_ptr<scalar_t>();
      const scalar_t* pt = tex.data_ptr<scalar_t>();
      const int32_t* pfl = flat.data_ptr<int32_t>();
      const int64_t* po = offsets.data_ptr<int64_t>();
      const int32_t* pc = counts.data_ptr<int32_t>();
      const scalar_t* pgr = grgb.defined() ? grgb.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pga = galpha.defined() ? galpha.data_ptr<scalar_t>() : nullptr;
      scalar_t* pgv = gv.data_ptr<scalar_t>();
      scalar_t* pgt = gt.data_ptr<scalar_t>();
      const auto c = cfg;
      at::parallel_for(0, tc.N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::layered_backward<scalar_t>(c, pv, pf, pu, pt, pfl, po, pc, pgr, pga, pgv,
                                               pgt, b0, b1);
      });
    });
    return {gv, at::Tensor(), at::Tensor(), gt, at::Tensor()};
  }
};

// Validated (F,3) int64 face indices into [0, V).
at::Tensor checked_faces(const at::Tensor& f_in, int64_t V) {
  if (f_in.device().type() != at::kCPU ||
      (f_in.scalar_type() != at::kLong && f_in.scalar_type() != at::kInt) || f_in.dim() != 2 ||
      f_in.size(1) != 3)
    fail(std::string() + "faces must be a CPU int64 tensor of shape (F,3), received " +
         rc::describe(f_in));
  at::Tensor f = f_in.to(at::kLong).contiguous();
  if (f.numel() > 0) {
    const int64_t lo = f.min().item<int64_t>(), hi = f.max().item<int64_t>();
    if (lo < 0 || hi >= V)
      fail(std::string() + "faces must index vertices in [0, " + std::to_string(V) +
           "), received indices in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  if (f.size(0) >= (int64_t(1) << 31))
    fail(std::string() + "at most 2^31-1 faces, received " + rc::describe(f));
  return f;
}

// The settings the two top-K ops share.
rc::raster::TopKConfig checked_topk(int64_t height, int64_t width, int64_t faces_per_pixel,
                                    double blur_radius, int perspective_correct,
                                    int cull_backfaces, double znear, int simd) {
  if (height < 1 || width < 1)
    fail(std::string() + "height and width must be >= 1, received " + std::to_string(height) +
         "x" + std::to_string(width));
  if (faces_per_pixel < 1 || faces_per_pixel > 1024)
    fail(std::string() + "faces_per_pixel must be in [1, 1024], received " +
         std::to_string(faces_per_pixel));
  if (!(blur_radius >= 0) || !std::isfinite(blur_radius))
    fail(std::string() + "blur_radius (a squared NDC distance) must be finite and >= 0, "
         "received " + num(blur_radius));
  if (!(znear >= 0) || !std::isfinite(znear))
    fail(std::string() + "znear must be finite and >= 0, received " + num(znear));
  rc::raster::TopKConfig cfg;
  cfg.H = height;
  cfg.W = width;
  cfg.K = faces_per_pixel;
  cfg.blur_radius = blur_radius;
  cfg.znear = znear;
  cfg.perspective_correct = perspective_correct != 0;
  cfg.cull_backfaces = cull_backfaces != 0;
  cfg.simd = use_simd(simd);
  return cfg;
}

}  // namespace

extern "C" {

RC_API int rc_raster_soft(const rc_tensor* face_vertices, const rc_tensor* face_colors,
                          int64_t height, int64_t width, double sigma, double gamma,
                          double eps_bg, double dist_eps, double znear, double zfar,
                          int double_side, const double* background, int simd,
                          rc_tensor** outs) {
  RC_GUARD("rc_raster_soft", RC_ERROR, {
    if (outs == nullptr) fail("outs must not be null");
    const at::Tensor& fv = rc::unwrap(face_vertices, "face_vertices");
    check_float_cpu("face_vertices", fv);
    if (fv.dim() != 4 || fv.size(2) != 3 || fv.size(3) != 3)
      fail(std::string() + "face_vertices must have shape (N,F,3,3), received " +
           rc::describe(fv));
    c10::optional<at::Tensor> colors;
    if (face_colors != nullptr) {
      const at::Tensor& c = rc::unwrap(face_colors, "face_colors");
      check_float_cpu("face_colors", c);
      if (c.dim() != 4 || c.size(0) != fv.size(0) || c.size(1) != fv.size(1) ||
          c.size(2) != 3 || c.size(3) < 1)
        fail(std::string() + "face_colors must have shape (N,F,3,C) with N=" +
             std::to_string(fv.size(0)) + ", F=" + std::to_string(fv.size(1)) +
             ", C>=1, received " + rc::describe(c));
      if (c.scalar_type() != fv.scalar_type())
        fail(std::string() + "face_colors must have the dtype of face_vertices (" +
             rc::describe(fv) + "), received " + rc::describe(c));
      colors = c;
    }
    if (height < 1 || width < 1)
      fail(std::string() + "height and width must be >= 1, received " +
           std::to_string(height) + "x" + std::to_string(width));
    if (!(sigma > 0) || !(gamma > 0))
      fail(std::string() + "sigma and gamma must be > 0, received sigma=" + num(sigma) +
           ", gamma=" + num(gamma));
    if (!(dist_eps > 0 && dist_eps < 1))
      fail(std::string() + "dist_eps must be in (0, 1), received " + num(dist_eps));
    if (!(znear >= 0) || !(zfar > znear))
      fail(std::string() + "need 0 <= znear < zfar, received znear=" + num(znear) +
           ", zfar=" + num(zfar));
    if (!std::isfinite(eps_bg))
      fail(std::string() + "eps_bg must be finite, received " + num(eps_bg));
    SoftArgs args;
    args.cfg.H = height;
    args.cfg.W = width;
    args.cfg.sigma = sigma;
    args.cfg.gamma = gamma;
    args.cfg.eps_bg = eps_bg;
    args.cfg.dist_eps = dist_eps;
    args.cfg.znear = znear;
    args.cfg.zfar = zfar;
    args.cfg.double_side = double_side != 0;
    args.cfg.simd = use_simd(simd);
    if (colors.has_value() && background != nullptr)
      args.background.assign(background, background + colors->size(3));
    auto out = SoftRasterFn::apply(fv, colors, args);
    outs[0] = rc::wrap(out[0]);
    return RC_OK;
  })
}

RC_API int rc_raster_topk(const rc_tensor* verts, const rc_tensor* faces, int64_t height,
                          int64_t width, int64_t faces_per_pixel, double blur_radius,
                          int perspective_correct, int cull_backfaces, double znear, int simd,
                          rc_tensor** outs) {
  RC_GUARD("rc_raster_topk", RC_ERROR, {
    if (outs == nullptr) fail("outs must not be null");
    const at::Tensor& v = rc::unwrap(verts, "verts");
    const at::Tensor& f_in = rc::unwrap(faces, "faces");
    check_float_cpu("verts", v);
    if (v.dim() != 3 || v.size(2) != 3)
      fail(std::string() + "verts must have shape (N,V,3), received " + rc::describe(v));
    at::Tensor f = checked_faces(f_in, v.size(1));
    rc::raster::TopKConfig cfg = checked_topk(height, width, faces_per_pixel, blur_radius,
                                              perspective_correct, cull_backfaces, znear, simd);
    auto out = TopKFn::apply(v, f, cfg);
    for (int k = 0; k < 5; ++k) outs[k] = rc::wrap(out[k]);
    return RC_OK;
  })
}

RC_API int rc_raster_layered(const rc_tensor* verts, const rc_tensor* faces,
                             const rc_tensor* face_uvs, const rc_tensor* uv_image,
                             int64_t height, int64_t width, int64_t faces_per_pixel,
                             double blur_radius, double sigma, int perspective_correct,
                             int cull_backfaces, double znear, const double* background,
                             int simd, rc_tensor** outs) {
  RC_GUARD("rc_raster_layered", RC_ERROR, {
    if (outs == nullptr) fail("outs must not be null");
    const at::Tensor& v = rc::unwrap(verts, "verts");
    const at::Tensor& uv = rc::unwrap(face_uvs, "face_uvs");
    const at::Tensor& tex = rc::unwrap(uv_image, "uv_image");
    check_float_cpu("verts", v);
    if (v.dim() != 3 || v.size(2) != 3)
      fail(std::string() + "verts must have shape (N,V,3), received " + rc::describe(v));
    at::Tensor f = checked_faces(rc::unwrap(faces, "faces"), v.size(1));
    check_float_cpu("face_uvs", uv);
    if (uv.dim() != 3 || uv.size(0) != f.size(0) || uv.size(1) != 3 || uv.size(2) != 2)
      fail(std::string() + "face_uvs must have shape (F,3,2) with F=" +
           std::to_string(f.size(0)) + ", received " + rc::describe(uv));
    if (uv.scalar_type() != v.scalar_type())
      fail(std::string() + "face_uvs must have the dtype of verts (" + rc::describe(v) +
           "), received " + rc::describe(uv));
    if (uv.requires_grad())
      fail("face_uvs must not require grad: the op has no gradient for them");
    check_float_cpu("uv_image", tex);
    if (tex.dim() != 4 || tex.size(0) != v.size(0) || tex.size(1) < 1 || tex.size(2) < 1 ||
        tex.size(3) < 1)
      fail(std::string() + "uv_image must have shape (N,C,Ht,Wt) with N=" +
           std::to_string(v.size(0)) + ", C>=1, received " + rc::describe(tex));
    if (tex.scalar_type() != v.scalar_type())
      fail(std::string() + "uv_image must have the dtype of verts (" + rc::describe(v) +
           "), received " + rc::describe(tex));
    if (!(sigma > 0) || !std::isfinite(sigma))
      fail(std::string() + "sigma must be finite and > 0, received " + num(sigma));
    LayeredArgs args;
    args.cfg.topk = checked_topk(height, width, faces_per_pixel, blur_radius,
                                 perspective_correct, cull_backfaces, znear, simd);
    args.cfg.sigma = sigma;
    if (background != nullptr) args.background.assign(background, background + tex.size(1));
    auto out = LayeredFn::apply(v, f, uv, tex, args);
    outs[0] = rc::wrap(out[0]);
    outs[1] = rc::wrap(out[1]);
    return RC_OK;
  })
}

RC_API int rc_raster_hard_textured(const rc_tensor* verts, const rc_tensor* points,
                                   const rc_tensor* faces, const rc_tensor* face_uvs,
                                   const rc_tensor* atlas, const rc_tensor* background,
                                   int64_t supersample, double znear, double ambient,
                                   double diffuse, const double* light_direction, int two_sided,
                                   int simd, rc_tensor** outs) {
  RC_GUARD("rc_raster_hard_textured", RC_ERROR, {
    if (outs == nullptr) fail("outs must not be null");
    const at::Tensor& v_in = rc::unwrap(verts, "verts");
    const at::Tensor& p_in = rc::unwrap(points, "points");
    const at::Tensor& uv_in = rc::unwrap(face_uvs, "face_uvs");
    const at::Tensor& tex_in = rc::unwrap(atlas, "atlas");
    const at::Tensor& bg_in = rc::unwrap(background, "background");
    check_float_cpu("verts", v_in);
    if (v_in.dim() != 3 || v_in.size(2) != 3)
      fail(std::string() + "verts must have shape (N,V,3), received " + rc::describe(v_in));
    const int64_t N = v_in.size(0), V = v_in.size(1);
    auto same_dtype = [&](const char* name, const at::Tensor& t) {
      check_float_cpu(name, t);
      if (t.scalar_type() != v_in.scalar_type())
        fail(std::string(name) + " must have the dtype of verts (" + rc::describe(v_in) +
             "), received " + rc::describe(t));
    };
    same_dtype("points", p_in);
    if (!p_in.sizes().equals(v_in.sizes()))
      fail(std::string() + "points must have the shape of verts (" + rc::describe(v_in) +
           "), received " + rc::describe(p_in));
    at::Tensor f = checked_faces(rc::unwrap(faces, "faces"), V);
    same_dtype("face_uvs", uv_in);
    if (uv_in.dim() != 3 || uv_in.size(0) != f.size(0) || uv_in.size(1) != 3 || uv_in.size(2) != 2)
      fail(std::string() + "face_uvs must have shape (F,3,2) with F=" +
           std::to_string(f.size(0)) + ", received " + rc::describe(uv_in));
    same_dtype("atlas", tex_in);
    if (tex_in.dim() != 3 || tex_in.size(0) < 1 || tex_in.size(1) < 1 || tex_in.size(2) < 1)
      fail(std::string() + "atlas must have shape (C,Ht,Wt) with C, Ht, Wt >= 1, received " +
           rc::describe(tex_in));
    same_dtype("background", bg_in);
    if (bg_in.dim() != 4 || bg_in.size(0) != N || bg_in.size(1) != tex_in.size(0) ||
        bg_in.size(2) < 1 || bg_in.size(3) < 1)
      fail(std::string() + "background must have shape (N,C,H,W) with N=" + std::to_string(N) +
           ", C=" + std::to_string(tex_in.size(0)) + " (the atlas'), H, W >= 1, received " +
           rc::describe(bg_in));
    const int64_t H = bg_in.size(2), W = bg_in.size(3);
    // the traversal indexes rows and columns with int32
    if (supersample < 1 || supersample > (1 << 15) || H * supersample > (1 << 15) || W * supersample > (1 << 15))
      fail(std::string() + "supersample must be >= 1 with (H, W) * supersample <= 32768, "
           "received " + std::to_string(supersample) + " for " + std::to_string(H) + "x" +
           std::to_string(W));
    if (!(znear >= 0) || !std::isfinite(znear))
      fail(std::string() + "znear must be finite and >= 0, received " + num(znear));
    if (!std::isfinite(ambient) || !std::isfinite(diffuse))
      fail(std::string() + "ambient and diffuse must be finite, received ambient=" +
           num(ambient) + ", diffuse=" + num(diffuse));
    if (light_direction == nullptr)
      fail("light_direction must point to 3 values, received null");
    const double* l = light_direction;
    const double ln2 = l[0] * l[0] + l[1] * l[1] + l[2] * l[2];
    if (!std::isfinite(ln2) || !(ln2 > 0))
      fail(std::string() + "light_direction must be finite and non-zero, received (" +
           num(l[0]) + ", " + num(l[1]) + ", " + num(l[2]) + ")");

    rc::raster::HardConfig cfg;
    cfg.N = N;
    cfg.V = V;
    cfg.F = f.size(0);
    cfg.H = H;
    cfg.W = W;
    cfg.supersample = supersample;
    cfg.C = tex_in.size(0);
    cfg.Ht = tex_in.size(1);
    cfg.Wt = tex_in.size(2);
    cfg.znear = znear;
    cfg.ambient = ambient;
    cfg.diffuse = diffuse;
    for (int k = 0; k < 3; ++k) cfg.light[k] = l[k];
    cfg.two_sided = two_sided != 0;
    cfg.simd = use_simd(simd);
    // no gradient: read the data, not the autograd graph (detach), and return constants
    at::Tensor v = v_in.detach().contiguous(), p = p_in.detach().contiguous();
    at::Tensor uv = uv_in.detach().contiguous(), tex = tex_in.detach().contiguous();
    at::Tensor bg = bg_in.detach().contiguous();
    at::Tensor image = at::empty({N, cfg.C, H, W}, v.options());
    at::Tensor alpha = at::empty({N, 1, H, W}, v.options());
    AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "rc_raster_hard_textured", [&] {
      const scalar_t* pv = v.data_ptr<scalar_t>();
      const scalar_t* pp = p.data_ptr<scalar_t>();
      const int64_t* pf = f.data_ptr<int64_t>();
      const scalar_t* pu = uv.data_ptr<scalar_t>();
      const scalar_t* pt = tex.data_ptr<scalar_t>();
      const scalar_t* pb = bg.data_ptr<scalar_t>();
      scalar_t* pi = image.data_ptr<scalar_t>();
      scalar_t* pa = alpha.data_ptr<scalar_t>();
      const auto c = cfg;
      at::parallel_for(0, N, 1, [&](int64_t b0, int64_t b1) {
        rc::raster::hard_textured_forward<scalar_t>(c, pv, pp, pf, pu, pt, pb, pi, pa, b0, b1);
      });
    });
    outs[0] = rc::wrap(image);
    outs[1] = rc::wrap(alpha);
    return RC_OK;
  })
}

RC_API int rc_raster_simd_available(void) { return rc::raster::simd_available() ? 1 : 0; }

}  // extern "C"
