// Torch binding of the point projection (raster/point_splat.cpp): input validation, the
// autograd Function and the C ABI. The forward splits output rows over threads and the
// backward splits points; each value is summed by one thread in a fixed order, so 1 and N
// threads give bitwise identical results.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <string>

#include "../raster/point_splat.h"
#include "binding_checks.h"
#include "rc_raster.h"
#include "tensor_handle.h"

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

using namespace rc::binding;
using rc::raster::SplatConfig;

struct PointSplatFn : public torch::autograd::Function<PointSplatFn> {
  // xy (B,N,2); depth (B,N) and rgb (B,N,C) together or not at all.
  // Returns {mask (B,1,H,W)}, or {mask, colour (B,C,H,W), aux (B,2,H,W)} with colours.
  static variable_list forward(AutogradContext* ctx, const at::Tensor& xy_in,
                               const c10::optional<at::Tensor>& depth_in,
                               const c10::optional<at::Tensor>& rgb_in, SplatConfig cfg) {
    const bool coloured = rgb_in.has_value();
    at::Tensor xy = xy_in.contiguous();
    at::Tensor depth = coloured ? depth_in->contiguous() : at::Tensor();
    at::Tensor rgb = coloured ? rgb_in->contiguous() : at::Tensor();
    cfg.B = xy.size(0);
    cfg.N = xy.size(1);
    cfg.C = coloured ? rgb.size(2) : 0;
    const int64_t B = cfg.B, C = cfg.C, H = cfg.H, W = cfg.W;
    at::Tensor mask = at::empty({B, 1, H, W}, xy.options());
    at::Tensor colour = coloured ? at::empty({B, C, H, W}, xy.options()) : at::Tensor();
    at::Tensor aux = coloured ? at::empty({B, 2, H, W}, xy.options()) : at::Tensor();
    AT_DISPATCH_FLOATING_TYPES(xy.scalar_type(), "rc_raster_points", [&] {
      const scalar_t* pxy = xy.data_ptr<scalar_t>();
      const scalar_t* pd = coloured ? depth.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pr = coloured ? rgb.data_ptr<scalar_t>() : nullptr;
      scalar_t* pm = mask.data_ptr<scalar_t>();
      scalar_t* pc = coloured ? colour.data_ptr<scalar_t>() : nullptr;
      scalar_t* pa = coloured ? aux.data_ptr<scalar_t>() : nullptr;
      const auto c = cfg;
      at::parallel_for(0, B * H, 1, [&](int64_t r0, int64_t r1) {
        rc::raster::splat_forward<scalar_t>(c, pxy, pd, pr, pm, pc, pa, r0, r1);
      });
    });
    ctx->saved_data["H"] = cfg.H;
    ctx->saved_data["W"] = cfg.W;
    ctx->saved_data["sigma2"] = cfg.sigma2;
    ctx->saved_data["radius"] = cfg.radius;
    ctx->saved_data["sharpness"] = cfg.sharpness;
    ctx->saved_data["depth_offset"] = cfg.depth_offset;
    ctx->save_for_backward({xy, depth, rgb, mask, colour, aux});
    // an unused output needs no zero-filled gradient
    ctx->set_materialize_grads(false);
    if (!coloured) return {mask};
    ctx->mark_non_differentiable({aux});
    return {mask, colour, aux};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor xy = saved[0], depth = saved[1], rgb = saved[2];
    at::Tensor mask = saved[3], colour = saved[4], aux = saved[5];
    SplatConfig cfg;
    cfg.B = xy.size(0);
    cfg.N = xy.size(1);
    cfg.C = rgb.defined() ? rgb.size(2) : 0;
    cfg.H = ctx->saved_data["H"].toInt();
    cfg.W = ctx->saved_data["W"].toInt();
    cfg.sigma2 = ctx->saved_data["sigma2"].toDouble();
    cfg.radius = ctx->saved_data["radius"].toDouble();
    cfg.sharpness = ctx->saved_data["sharpness"].toDouble();
    cfg.depth_offset = ctx->saved_data["depth_offset"].toDouble();
    const bool coloured = cfg.C > 0;
    at::Tensor gm = grads[0].defined() ? grads[0].contiguous() : at::Tensor();
    at::Tensor gc = coloured && grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    at::Tensor gxy = at::empty_like(xy);
    at::Tensor gdepth = coloured ? at::empty_like(depth) : at::Tensor();
    at::Tensor grgb = coloured ? at::empty_like(rgb) : at::Tensor();
    AT_DISPATCH_FLOATING_TYPES(xy.scalar_type(), "rc_raster_points_backward", [&] {
      const scalar_t* pxy = xy.data_ptr<scalar_t>();
      const scalar_t* pd = coloured ? depth.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pr = coloured ? rgb.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pm = mask.data_ptr<scalar_t>();
      const scalar_t* pc = coloured ? colour.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pa = coloured ? aux.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pgm = gm.defined() ? gm.data_ptr<scalar_t>() : nullptr;
      const scalar_t* pgc = gc.defined() ? gc.data_ptr<scalar_t>() : nullptr;
      scalar_t* pgxy = gxy.data_ptr<scalar_t>();
      scalar_t* pgd = coloured ? gdepth.data_ptr<scalar_t>() : nullptr;
      scalar_t* pgr = coloured ? grgb.data_ptr<scalar_t>() : nullptr;
      const auto c = cfg;
      // a point's window is a few dozen pixels: chunks of points amortise the thread start
      at::parallel_for(0, cfg.B * cfg.N, 64, [&](int64_t p0, int64_t p1) {
        rc::raster::splat_backward<scalar_t>(c, pxy, pd, pr, pm, pc, pa, pgm, pgc, pgxy, pgd,
                                             pgr, p0, p1);
      });
    });
    return {gxy, gdepth, grgb, at::Tensor()};
  }
};

// "image b, point n" of the first entry of `bad` (B,N[,K]) that is true.
std::string first_point(const at::Tensor& bad) {
  at::Tensor index = bad.nonzero()[0];
  return "image " + std::to_string(index[0].item<int64_t>()) + ", point " +
         std::to_string(index[1].item<int64_t>());
}

}  // namespace

extern "C" {

RC_API int rc_raster_points(const rc_tensor* xy, const rc_tensor* depth, const rc_tensor* rgb,
                            int64_t height, int64_t width, double sigma2, double radius,
                            double sharpness, double depth_offset, rc_tensor** outs) {
  RC_GUARD("rc_raster_points", RC_ERROR, {
    if (outs == nullptr) fail("outs must not be null");
    const at::Tensor& p = rc::unwrap(xy, "xy");
    check_float_cpu("xy", p);
    if (p.dim() != 3 || p.size(2) != 2)
      fail(std::string() + "xy must have shape (B,N,2), received " + rc::describe(p));
    const int64_t B = p.size(0), N = p.size(1);
    if ((depth == nullptr) != (rgb == nullptr))
      fail(std::string() + "depth and rgb go together (both null for the mask alone), received " +
           (depth == nullptr ? "rgb without depth" : "depth without rgb"));
    auto same_dtype = [&](const char* name, const at::Tensor& t) {
      check_float_cpu(name, t);
      if (t.scalar_type() != p.scalar_type())
        fail(std::string(name) + " must have the dtype of xy (" + rc::describe(p) +
             "), received " + rc::describe(t));
    };
    c10::optional<at::Tensor> z, colours;
    if (rgb != nullptr) {
      const at::Tensor& d = rc::unwrap(depth, "depth");
      const at::Tensor& c = rc::unwrap(rgb, "rgb");
      same_dtype("depth", d);
      if (d.dim() != 2 || d.size(0) != B || d.size(1) != N)
        fail(std::string() + "depth must have shape (B,N) with B=" + std::to_string(B) +
             ", N=" + std::to_string(N) + " (those of xy), received " + rc::describe(d));
      same_dtype("rgb", c);
      if (c.dim() != 3 || c.size(0) != B || c.size(1) != N || c.size(2) < 1)
        fail(std::string() + "rgb must have shape (B,N,C) with B=" + std::to_string(B) +
             ", N=" + std::to_string(N) + " (those of xy), C>=1, received " + rc::describe(c));
      z = d;
      colours = c;
    }
    if (height < 1 || width < 1)
      fail(std::string() + "height and width must be >= 1, received " + std::to_string(height) +
           "x" + std::to_string(width));
    if (!std::isfinite(sigma2) || !(sigma2 > 0))
      fail(std::string() + "sigma2 (px^2) must be finite and > 0, received " + num(sigma2));
    if (!std::isfinite(radius) || !(radius > 0))
      fail(std::string() + "radius (in sigmas) must be finite and > 0, received " + num(radius));
    if (!std::isfinite(sharpness) || !(sharpness > 0))
      fail(std::string() + "sharpness must be finite and > 0, received " + num(sharpness));
    if (!std::isfinite(depth_offset))
      fail(std::string() + "depth_offset must be finite, received " + num(depth_offset));
    {
      at::NoGradGuard no_grad;
      // a non-finite coordinate has no window; say where it is rather than drop the point
      at::Tensor bad_xy = at::isfinite(p).logical_not();
      if (bad_xy.any().item<bool>())
        fail(std::string() + "xy must be finite, received a NaN or infinity at " +
             first_point(bad_xy));
      if (z.has_value()) {
        // the logit sharpness / (depth + depth_offset + 1e-5) must not change sign or blow up
        at::Tensor shifted = *z + (depth_offset + rc::raster::kSplatDepthEps);
        at::Tensor bad_z = at::isfinite(*z).logical_not().logical_or(shifted <= 0);
        if (bad_z.any().item<bool>())
          fail(std::string() + "depth must be finite with depth + depth_offset + 1e-5 > 0 "
               "(depth_offset = " + num(depth_offset) + "), received " +
               num(z->masked_select(bad_z)[0].item<double>()) + " at " +
               first_point(bad_z));
      }
    }
    SplatConfig cfg;
    cfg.H = height;
    cfg.W = width;
    cfg.sigma2 = sigma2;
    cfg.radius = radius;
    cfg.sharpness = sharpness;
    cfg.depth_offset = depth_offset;
    auto out = PointSplatFn::apply(p, z, colours, cfg);
    outs[0] = rc::wrap(out[0]);
    if (colours.has_value()) outs[1] = rc::wrap(out[1]);
    return RC_OK;
  })
}

}  // extern "C"
