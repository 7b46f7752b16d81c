// Tests of rc_raster_layered (the fused textured layered render) through the C ABI: against
// the same render composed from rc_raster_topk and ATen ops, against finite differences, and
// for the batch / thread / robustness invariants.
#include <gtest/gtest.h>

#include "raster_test_util.h"

using namespace rt;

namespace {

// A projected ellipsoid mesh with per-vertex spherical-ish UVs gathered per face corner.
struct Scene {
  at::Tensor verts, faces, face_uvs, tex;
};

Scene scene(int64_t N, int level, int64_t C, at::ScalarType dt, uint32_t seed) {
  auto [verts, faces] = projected_ellipsoids(N, level, {0.6, 0.42, 0.42}, 2.732, 30.0, seed);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 100);
  at::Tensor uv = at::rand({verts.size(1), 2}, gen, at::kDouble);
  at::Tensor fuv = uv.index_select(0, faces.flatten()).reshape({faces.size(0), 3, 2});
  at::Tensor tex = at::rand({N, C, 7, 5}, gen, at::kDouble);
  return {verts.to(dt), faces, fuv.to(dt), tex.to(dt)};
}

// The reference: Fragments from rc_raster_topk, then interpolation, grid_sample and the
// front-to-back blend as plain ATen ops.
std::pair<at::Tensor, at::Tensor> composed(const Scene& s, const LayeredParams& p) {
  Frags fr = topk(s.verts, s.faces, p.topk);
  const int64_t N = s.verts.size(0), H = p.topk.H, W = p.topk.W, K = p.topk.K;
  const int64_t C = s.tex.size(1);
  at::Tensor valid = fr.p2f.ge(0);
  at::Tensor idx = fr.p2f.clamp_min(0).reshape({-1});
  at::Tensor corner = s.face_uvs.index_select(0, idx).reshape({N, H, W, K, 3, 2});
  at::Tensor uv = (corner * fr.bary.unsqueeze(-1)).sum(4);  // (N,H,W,K,2)
  at::Tensor grid = (uv * 2 - 1).reshape({N, H, W * K, 2});
  at::Tensor texel = at::grid_sampler(s.tex, grid, 0, 1, false).reshape({N, C, H, W, K});
  at::Tensor a = at::exp(fr.dists.clamp_min(0) * (-1.0 / p.sigma)) * valid.to(s.tex.scalar_type());
  at::Tensor through = (1 - a).cumprod(3);
  at::Tensor before = at::cat({at::ones_like(through.narrow(3, 0, 1)), through.narrow(3, 0, K - 1)}, 3);
  at::Tensor weights = (before * a).unsqueeze(1);  // (N,1,H,W,K)
  at::Tensor last = through.narrow(3, K - 1, 1).permute({0, 3, 1, 2});  // (N,1,H,W)
  at::Tensor bg = at::tensor(p.background, s.tex.options()).reshape({1, C, 1, 1});
  return {(weights * texel).sum(4) + last * bg, 1 - last};
}

std::vector<LayeredParams> configs() {
  std::vector<LayeredParams> out;
  for (int k : {1, 3, 8})
    for (bool persp : {false, true}) {
      LayeredParams p;
      p.topk.H = 14;
      p.topk.W = 12;
      p.topk.K = k;
      p.topk.persp = persp;
      p.topk.cull = k == 3;
      p.sigma = 2e-3;
      p.topk.blur = std::log(1.0 / 1e-4 - 1.0) * p.sigma;
      p.topk.znear = 0.5;
      p.background = {1.0, 0.25, 0.5};
      out.push_back(p);
    }
  return out;
}

std::string describe(const LayeredParams& p) {
  return "K=" + std::to_string(p.topk.K) + " persp=" + std::to_string(p.topk.persp) +
         " cull=" + std::to_string(p.topk.cull);
}

at::Tensor loss(const std::pair<at::Tensor, at::Tensor>& out, const at::Tensor& wr,
                const at::Tensor& wa) {
  return (out.first * wr).sum() + (out.second * wa).sum();
}

}  // namespace

TEST(RasterLayered, ForwardAndGradientsMatchTheComposedOps) {
  for (auto dt : {at::kDouble, at::kFloat}) {
    for (int simd : {0, 1}) {
      for (LayeredParams p : configs()) {
        p.topk.simd = simd != 0;
        Scene s = scene(2, 1, 3, dt, 3);
        auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
        at::Tensor wr = at::randn({2, 3, p.topk.H, p.topk.W}, gen, s.tex.options());
        at::Tensor wa = at::randn({2, 1, p.topk.H, p.topk.W}, gen, s.tex.options());
        auto run = [&](bool fused) {
          at::Tensor v = s.verts.clone().set_requires_grad(true);
          at::Tensor t = s.tex.clone().set_requires_grad(true);
          Scene x{v, s.faces, s.face_uvs, t};
          auto out = fused ? layered(v, s.faces, s.face_uvs, t, p) : composed(x, p);
          auto g = torch::autograd::grad({loss(out, wr, wa)}, {v, t});
          return std::make_tuple(out.first.detach(), out.second.detach(), g[0], g[1]);
        };
        auto [fr, fa, fgv, fgt] = run(true);
        auto [cr, ca, cgv, cgt] = run(false);
        const double tol = dt == at::kDouble ? 1e-12 : 2e-6;
        EXPECT_LT(max_abs_diff(fr, cr), tol) << describe(p);
        EXPECT_LT(max_abs_diff(fa, ca), tol) << describe(p);
        EXPECT_GT(ca.gt(0).sum().item<int64_t>(), 20) << describe(p);
        const double gs = cgv.abs().max().item<double>();
        EXPECT_GT(gs, 1e-3);
        EXPECT_LT(max_abs_diff(fgv, cgv), (dt == at::kDouble ? 1e-10 : 1e-4) * gs) << describe(p);
        EXPECT_LT(max_abs_diff(fgt, cgt), tol * 10) << describe(p);
      }
    }
  }
}

TEST(RasterLayered, GradientMatchesFiniteDifferences) {
  Scene s = scene(1, 1, 2, at::kDouble, 7);
  LayeredParams p = configs()[3];  // K = 3, perspective, culling
  p.background = {0.3, 0.9};
  // a blur radius where alpha is 1e-12: entering it is invisible to the differences
  p.topk.blur = std::log(1e12) * p.sigma;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(8);
  at::Tensor wr = at::randn({1, 2, p.topk.H, p.topk.W}, gen, at::kDouble);
  at::Tensor wa = at::randn({1, 1, p.topk.H, p.topk.W}, gen, at::kDouble);
  at::Tensor x = s.verts.clone().set_requires_grad(true);
  at::Tensor t = s.tex.clone().set_requires_grad(true);
  auto g = torch::autograd::grad({loss(layered(x, s.faces, s.face_uvs, t, p), wr, wa)}, {x, t});
  at::NoGradGuard ng;
  Frags base = topk(s.verts, s.faces, p.topk);
  const double h = 1e-6;
  for (int which : {0, 1}) {
    at::Tensor xf = (which == 0 ? s.verts : s.tex).clone();
    double* pv = xf.data_ptr<double>();
    const double* ga = g[which].data_ptr<double>();
    double worst = 0, scale = g[which].abs().max().item<double>();
    int64_t checked = 0;
    for (int64_t k = 0; k < xf.numel(); ++k) {
      const double v = pv[k];
      auto eval = [&](double d) {
        pv[k] = v + d;
        Frags f = topk(which == 0 ? xf : s.verts, s.faces, p.topk);
        const bool same = at::equal(f.p2f, base.p2f);
        double l = loss(which == 0 ? layered(xf, s.faces, s.face_uvs, s.tex, p)
                                   : layered(s.verts, s.faces, s.face_uvs, xf, p),
                        wr, wa).item<double>();
        pv[k] = v;
        return std::make_pair(l, same);
      };
      auto [lp, sp] = eval(h);
      auto [lm, sm] = eval(-h);
      if (!sp || !sm) continue;  // the step changed which faces hold the slots
      worst = std::max(worst, std::abs((lp - lm) / (2 * h) - ga[k]));
      ++checked;
    }
    EXPECT_GT(checked, xf.numel() / 2);
    EXPECT_GT(scale, 1e-3);
    EXPECT_LT(worst / scale, 1e-6) << (which == 0 ? "verts" : "texture") << " worst " << worst;
  }
}

// At UNICORN's scale (64x64, level-3 icosphere, sigma = 1e-4, K = 8) pixels hold 6-7 slots,
// so the vectorised backward (one pixel's slots per vector) runs on full vectors and the
// opaque stop is exercised; K = 12 exceeds a vector and takes the scalar path either way.
TEST(RasterLayered, SimdMatchesPortableAtUnicornScale) {
  for (int64_t k : {8, 12}) {
    for (bool persp : {false, true}) {
      Scene s = scene(3, 3, 3, at::kFloat, 21);
      s.tex = at::rand({3, 3, 64, 64}, at::make_generator<at::CPUGeneratorImpl>(22));
      LayeredParams p;
      p.topk.H = p.topk.W = 64;
      p.topk.K = k;
      p.topk.persp = persp;
      p.sigma = 1e-4;
      p.topk.blur = std::log(1.0 / 1e-4 - 1.0) * p.sigma;
      p.topk.znear = 0.5;
      p.background = {0.2, 0.9, 0.4};
      auto gen = at::make_generator<at::CPUGeneratorImpl>(23);
      // Clipped barycentrics put the blur candidates of a pixel on face edges and vertices,
      // so two of them can lie within a float32 rounding of the same depth (same surface):
      // the paths may order such a pair differently, and a halo of alpha ~1 then changes the
      // colour. Compared where both paths keep the same slots in the same order.
      TopKParams tp = p.topk, tps = p.topk;
      tp.simd = false;
      tps.simd = true;
      const at::Tensor agree =
          topk(s.verts, s.faces, tp).p2f.eq(topk(s.verts, s.faces, tps).p2f).all(3).unsqueeze(1);
      EXPECT_GT(agree.to(at::kDouble).mean().item<double>(), 0.999) << "K=" << k;
      const at::Tensor keep = agree.to(s.tex.scalar_type());
      at::Tensor wr = at::randn({3, 3, 64, 64}, gen, s.tex.options()) * keep;
      at::Tensor wa = at::randn({3, 1, 64, 64}, gen, s.tex.options()) * keep;
      auto run = [&](int simd) {
        LayeredParams ps = p;
        ps.topk.simd = simd != 0;
        at::Tensor v = s.verts.clone().set_requires_grad(true);
        at::Tensor t = s.tex.clone().set_requires_grad(true);
        auto out = layered(v, s.faces, s.face_uvs, t, ps);
        auto g = torch::autograd::grad({loss(out, wr, wa)}, {v, t});
        return std::vector<at::Tensor>{out.first.detach(), out.second.detach(), g[0], g[1]};
      };
      auto fast = run(1), portable = run(0);
      const std::string what = "K=" + std::to_string(k) + " persp=" + std::to_string(persp);
      // alpha = exp(-d2/sigma): float rounding of d2 (~1e-9 near an edge) is ~1e-5 of alpha
      // at sigma = 1e-4, whichever path is right; the paths differ by FMA contraction
      EXPECT_LT(max_abs_diff(fast[0] * keep, portable[0] * keep), 1e-4) << what;
      EXPECT_LT(max_abs_diff(fast[1] * keep, portable[1] * keep), 1e-4) << what;
      for (int i : {2, 3}) {
        const double scale = portable[i].abs().max().item<double>();
        EXPECT_GT(scale, 1e-3) << what;
        EXPECT_LT(max_abs_diff(fast[i], portable[i]) / scale, 1e-4) << what << " gradient " << i;
      }
    }
  }
}

TEST(RasterLayered, BatchEqualsOneByOneAndThreadsBitwise) {
  ThreadGuard tg;
  for (auto dt : {at::kFloat, at::kDouble}) {
    Scene s = scene(5, 2, 3, dt, 11);
    LayeredParams p = configs()[5];  // K = 8, perspective
    auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
    at::Tensor wr = at::randn({5, 3, p.topk.H, p.topk.W}, gen, s.tex.options());
    at::Tensor wa = at::randn({5, 1, p.topk.H, p.topk.W}, gen, s.tex.options());
    auto run = [&](int64_t b0, int64_t n) {
      at::Tensor v = s.verts.narrow(0, b0, n).clone().set_requires_grad(true);
      at::Tensor t = s.tex.narrow(0, b0, n).clone().set_requires_grad(true);
      auto out = layered(v, s.faces, s.face_uvs, t, p);
      auto g = torch::autograd::grad({loss(out, wr.narrow(0, b0, n), wa.narrow(0, b0, n))}, {v, t});
      return std::vector<at::Tensor>{out.first.detach(), out.second.detach(), g[0], g[1]};
    };
    expect_batch_and_threads_bitwise(run);
  }
}

TEST(RasterLayered, DegenerateGeometryAndEmptyMeshesStayFinite) {
  auto [verts, faces] = troublesome_mesh();
  at::Tensor fuv = at::rand({faces.size(0), 3, 2}, at::kDouble);
  at::Tensor tex = at::rand({1, 3, 4, 4}, at::kDouble);
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (LayeredParams p : configs()) {
      p.topk.znear = 0.1;
      at::Tensor v = verts.to(dt).set_requires_grad(true);
      at::Tensor t = tex.to(dt).set_requires_grad(true);
      auto out = layered(v, faces, fuv.to(dt), t, p);
      auto g = torch::autograd::grad({out.first.sum() + out.second.sum()}, {v, t});
      EXPECT_TRUE(all_finite(out.first) && all_finite(out.second)) << describe(p);
      EXPECT_TRUE(all_finite(g[0]) && all_finite(g[1])) << describe(p);
      EXPECT_TRUE(out.second.ge(0).all().item<bool>() && out.second.le(1).all().item<bool>());
      // the far face (back-facing) covers every pixel; with K = 8 it always holds a slot
      if (p.topk.K == 8 && !p.topk.cull)
        EXPECT_TRUE(out.second.gt(0.99).all().item<bool>()) << describe(p);
    }
  }
  // an empty mesh renders the background with alpha 0
  LayeredParams p = configs()[0];
  auto e = layered(at::zeros({2, 0, 3}), at::zeros({0, 3}, at::kLong), at::zeros({0, 3, 2}),
                   at::rand({2, 3, 4, 4}), p);
  EXPECT_TRUE(e.second.eq(0).all().item<bool>());
  EXPECT_TRUE(e.first.select(1, 1).eq(0.25f).all().item<bool>());
}

TEST(RasterLayered, ErrorsNameTheOpAndTheArgument) {
  rc_tensor* out[2] = {};
  Handle v(at::zeros({1, 4, 3}, at::kFloat));
  Handle f(at::zeros({2, 3}, at::kLong));
  Handle uv(at::zeros({2, 3, 2}, at::kFloat));
  Handle tex(at::zeros({1, 3, 4, 4}, at::kFloat));
  Handle uv_bad(at::zeros({3, 3, 2}, at::kFloat));
  EXPECT_EQ(rc_raster_layered(v.h, f.h, uv_bad.h, tex.h, 8, 8, 2, 0.0, 1e-3, 0, 0, 0.1, nullptr, 1, out),
            RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_layered: face_uvs must have shape (F,3,2) with F=2, received float32[3, 3, 2]");
  Handle tex_bad(at::zeros({2, 3, 4, 4}, at::kFloat));
  EXPECT_EQ(rc_raster_layered(v.h, f.h, uv.h, tex_bad.h, 8, 8, 2, 0.0, 1e-3, 0, 0, 0.1, nullptr, 1, out),
            RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("uv_image must have shape (N,C,Ht,Wt) with N=1"),
            std::string::npos);
  Handle uv_grad(at::zeros({2, 3, 2}, at::kFloat).set_requires_grad(true));
  EXPECT_EQ(rc_raster_layered(v.h, f.h, uv_grad.h, tex.h, 8, 8, 2, 0.0, 1e-3, 0, 0, 0.1, nullptr, 1, out),
            RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_layered: face_uvs must not require grad: the op has no gradient for them");
  EXPECT_EQ(rc_raster_layered(v.h, f.h, uv.h, tex.h, 8, 8, 2, 0.0, 0.0, 0, 0, 0.1, nullptr, 1, out),
            RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("sigma"), std::string::npos);
  EXPECT_EQ(out[0], nullptr);
}

