// Tests of rc_raster_topk (PyTorch3D-style Fragments) through the C ABI and autograd.
#include <gtest/gtest.h>

#include "raster_test_util.h"

using namespace rt;

namespace {

// Two overlapping jittered grid layers (z ~ 2 and ~ 3), 4x4 vertices each, 36 faces with
// random orientation so culling has something to cull. verts (N,32,3) float64, faces (36,3).
std::pair<at::Tensor, at::Tensor> layered_mesh(int64_t N, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  const int G = 4;
  at::Tensor verts = at::empty({N, 2 * G * G, 3}, at::kDouble);
  double* pv = verts.data_ptr<double>();
  for (int64_t n = 0; n < N; ++n)
    for (int l = 0; l < 2; ++l)
      for (int a = 0; a < G; ++a)
        for (int b = 0; b < G; ++b) {
          double* o = pv + ((n * 2 + l) * G * G + a * G + b) * 3;
          o[0] = -0.9 + 1.8 * b / (G - 1) + 0.12 * u(rng) + 0.25 * l;
          o[1] = -0.9 + 1.8 * a / (G - 1) + 0.12 * u(rng) + 0.15 * l;
          o[2] = 2.0 + l + 0.3 * u(rng);
        }
  std::vector<int64_t> f;
  for (int l = 0; l < 2; ++l)
    for (int a = 0; a + 1 < G; ++a)
      for (int b = 0; b + 1 < G; ++b) {
        int64_t v00 = l * G * G + a * G + b, v01 = v00 + 1, v10 = v00 + G, v11 = v10 + 1;
        std::array<int64_t, 3> t1{v00, v01, v11}, t2{v00, v11, v10};
        for (auto t : {t1, t2}) {
          if (rng() % 2) std::swap(t[1], t[2]);
          f.insert(f.end(), t.begin(), t.end());
        }
      }
  at::Tensor faces = at::tensor(f, at::kLong).reshape({-1, 3});
  return {verts, faces};
}

at::Tensor topk_loss(const Frags& fr, const at::Tensor& wb, const at::Tensor& wz,
                     const at::Tensor& wd) {
  return (fr.bary * wb).sum() + (fr.zbuf * wz).sum() + (fr.dists * wd).sum();
}

// Fraction of slots whose face differs, and the max value differences where they agree.
struct Cmp {
  double mismatch;
  double bary, zbuf, dists;
};
Cmp compare(const Frags& a, const Frags& r) {
  at::Tensor same = a.p2f.eq(r.p2f);
  at::Tensor s3 = same.unsqueeze(-1).expand_as(r.bary);
  auto md = [](const at::Tensor& x, const at::Tensor& y, const at::Tensor& m) {
    return (x.to(at::kDouble) - y.to(at::kDouble)).abs().masked_fill(m.logical_not(), 0).max().item<double>();
  };
  return {1.0 - same.to(at::kDouble).mean().item<double>(), md(a.bary, r.bary, s3),
          md(a.zbuf, r.zbuf, same), md(a.dists, r.dists, same)};
}

std::vector<TopKParams> configs() {
  std::vector<TopKParams> out;
  for (bool persp : {false, true})
    for (bool cull : {false, true})
      for (double blur : {0.0, 3e-3}) {
        TopKParams p;
        p.H = 19;
        p.W = 23;
        p.K = 3;
        p.persp = persp;
        p.cull = cull;
        p.blur = blur;
        out.push_back(p);
      }
  return out;
}

std::string describe(const TopKParams& p) {
  return "persp=" + std::to_string(p.persp) + " cull=" + std::to_string(p.cull) +
         " blur=" + std::to_string(p.blur);
}

}  // namespace

TEST(RasterTopK, ForwardMatchesBruteForce) {
  auto [verts, faces] = layered_mesh(2, 1);
  for (const TopKParams& p : configs()) {
    Frags ref = ref_topk(verts, faces, p);
    Frags f64 = topk(verts, faces, p);
    EXPECT_EQ(f64.p2f.sizes(), (at::IntArrayRef{2, 19, 23, 3}));
    EXPECT_EQ(f64.bary.sizes(), (at::IntArrayRef{2, 19, 23, 3, 3}));
    EXPECT_TRUE(at::equal(f64.p2f, ref.p2f)) << describe(p);
    EXPECT_TRUE(at::equal(f64.overflow, ref.overflow)) << describe(p);
    EXPECT_LT(max_abs_diff(f64.bary, ref.bary), 1e-9) << describe(p);
    EXPECT_LT(max_abs_diff(f64.zbuf, ref.zbuf), 1e-9) << describe(p);
    EXPECT_LT(max_abs_diff(f64.dists, ref.dists), 1e-12) << describe(p);
    EXPECT_GT(ref.p2f.ge(0).sum().item<int64_t>(), 300) << describe(p);

    for (int simd : {0, 1}) {
      TopKParams ps = p;
      ps.simd = simd != 0;
      Frags f32 = topk(verts.to(at::kFloat), faces, ps);
      EXPECT_EQ(f32.bary.scalar_type(), at::kFloat);
      Cmp c = compare(f32, ref);
      EXPECT_LT(c.mismatch, 0.005) << describe(p) << " simd=" << simd;
      EXPECT_LT(c.bary, 1e-4) << describe(p) << " simd=" << simd;
      EXPECT_LT(c.zbuf, 1e-4) << describe(p) << " simd=" << simd;
      EXPECT_LT(c.dists, 1e-5) << describe(p) << " simd=" << simd;
      // zbuf is sorted within each pixel
      at::Tensor zs = f32.zbuf.masked_fill(f32.p2f.lt(0), 1e9);
      EXPECT_TRUE(zs.narrow(3, 1, p.K - 1).ge(zs.narrow(3, 0, p.K - 1)).all().item<bool>());
    }
  }
}

TEST(RasterTopK, OverflowIsReported) {
  auto [verts, faces] = layered_mesh(2, 2);
  TopKParams p;
  p.K = 1;
  p.blur = 1e-3;
  Frags fr = topk(verts, faces, p);
  Frags ref = ref_topk(verts, faces, p);
  EXPECT_GT(fr.overflow.sum().item<int64_t>(), 0);
  EXPECT_TRUE(at::equal(fr.overflow, ref.overflow));
  p.K = 16;
  EXPECT_EQ(topk(verts, faces, p).overflow.sum().item<int64_t>(), 0);
}

TEST(RasterTopK, GradientMatchesFiniteDifferences) {
  auto [verts, faces] = layered_mesh(1, 3);
  for (bool persp : {false, true}) {
    TopKParams p;
    p.H = 12;
    p.W = 13;
    p.K = 3;
    p.blur = 4e-3;
    p.persp = persp;
    Frags base = topk(verts, faces, p);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
    at::Tensor wb = at::rand(base.bary.sizes(), gen, at::kDouble) - 0.5;
    at::Tensor wz = at::rand(base.zbuf.sizes(), gen, at::kDouble) - 0.5;
    at::Tensor wd = (at::rand(base.dists.sizes(), gen, at::kDouble) - 0.5) * 100;
    // autograd
    at::Tensor x = verts.clone().set_requires_grad(true);
    at::Tensor g = torch::autograd::grad({topk_loss(topk(x, faces, p), wb, wz, wd)}, {x})[0];
    // central differences; skip coordinates whose step changes which faces win a slot
    at::NoGradGuard ng;
    at::Tensor xf = verts.clone();
    double* pv = xf.data_ptr<double>();
    const double h = 1e-6;
    int64_t checked = 0;
    double worst = 0, scale = g.abs().max().item<double>();
    for (int64_t k = 0; k < xf.numel(); ++k) {
      const double v = pv[k];
      pv[k] = v + h;
      Frags fp = topk(xf, faces, p);
      pv[k] = v - h;
      Frags fm = topk(xf, faces, p);
      pv[k] = v;
      if (!at::equal(fp.p2f, base.p2f) || !at::equal(fm.p2f, base.p2f)) continue;
      double fd = (topk_loss(fp, wb, wz, wd).item<double>() -
                   topk_loss(fm, wb, wz, wd).item<double>()) / (2 * h);
      worst = std::max(worst, std::abs(fd - g.data_ptr<double>()[k]));
      ++checked;
    }
    EXPECT_GT(checked, xf.numel() / 2);
    EXPECT_LT(worst / scale, 1e-5) << "persp=" << persp << " worst=" << worst << " scale=" << scale;
  }
}

TEST(RasterTopK, FaceOrderDoesNotMatter) {
  auto [verts, faces] = layered_mesh(2, 5);
  at::Tensor perm = at::randperm(faces.size(0), at::make_generator<at::CPUGeneratorImpl>(6));
  at::Tensor pf = faces.index_select(0, perm);
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (const TopKParams& p : configs()) {
      at::Tensor v = dt == at::kFloat ? verts.to(at::kFloat) : verts;
      Frags a = topk(v, faces, p), b = topk(v, pf, p);
      // face k of the permuted mesh is face perm[k] of the original
      at::Tensor mapped = at::where(b.p2f.ge(0), perm.index({b.p2f.clamp_min(0)}), b.p2f);
      EXPECT_TRUE(at::equal(a.p2f, mapped)) << describe(p);
      EXPECT_TRUE(bitwise_equal(a.bary, b.bary)) << describe(p);
      EXPECT_TRUE(bitwise_equal(a.zbuf, b.zbuf)) << describe(p);
      EXPECT_TRUE(bitwise_equal(a.dists, b.dists)) << describe(p);
      EXPECT_TRUE(at::equal(a.overflow, b.overflow));
    }
  }
}

namespace {
// Forward outputs and the vertex gradient of a fixed random loss.
struct GradRun {
  Frags fr;
  at::Tensor grad;
};
GradRun run_with_grad(const at::Tensor& verts, const at::Tensor& faces, const TopKParams& p) {
  at::Tensor x = verts.clone().set_requires_grad(true);
  Frags fr = topk(x, faces, p);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  // weights depend only on the slot position, so a sub-batch sees the same weights
  at::Tensor wb = at::rand({1, p.H, p.W, p.K, 3}, gen, verts.options());
  at::Tensor wz = at::rand({1, p.H, p.W, p.K}, gen, verts.options());
  at::Tensor wd = at::rand({1, p.H, p.W, p.K}, gen, verts.options());
  at::Tensor g = torch::autograd::grad({topk_loss(fr, wb, wz, wd)}, {x})[0];
  return {fr, g};
}
}  // namespace

TEST(RasterTopK, BatchEqualsOneByOneAndThreadsBitwise) {
  ThreadGuard tg;
  auto [verts, faces] = layered_mesh(5, 8);
  for (auto dt : {at::kFloat, at::kDouble}) {
   for (int simd : {0, 1}) {
    at::Tensor v = verts.to(dt);
    for (TopKParams p : configs()) {
      p.simd = simd != 0;
      at::set_num_threads(2);
      GradRun all = run_with_grad(v, faces, p);
      at::set_num_threads(1);
      GradRun one = run_with_grad(v, faces, p);
      EXPECT_TRUE(at::equal(all.fr.p2f, one.fr.p2f));
      EXPECT_TRUE(bitwise_equal(all.fr.bary, one.fr.bary));
      EXPECT_TRUE(bitwise_equal(all.fr.dists, one.fr.dists));
      EXPECT_TRUE(bitwise_equal(all.grad, one.grad)) << describe(p);
      for (int64_t n = 0; n < 5; ++n) {
        GradRun r = run_with_grad(v.narrow(0, n, 1), faces, p);
        EXPECT_TRUE(at::equal(all.fr.p2f.narrow(0, n, 1), r.fr.p2f));
        EXPECT_TRUE(bitwise_equal(all.fr.zbuf.narrow(0, n, 1), r.fr.zbuf));
        EXPECT_TRUE(bitwise_equal(all.grad.narrow(0, n, 1), r.grad)) << describe(p);
      }
    }
   }
  }
}

TEST(RasterTopK, DegenerateAndClippedGeometryStaysFinite) {
  // verts (1,V,3); one face per hazard
  std::vector<std::array<double, 3>> V = {
      {-0.5, -0.5, 2}, {0.0, 0.0, 2}, {0.5, 0.5, 2},     // 0-2 collinear
      {0.1, 0.2, 2},                                      // 3 used three times
      {-0.5, -0.5, -2}, {0.5, -0.5, -2}, {0.0, 0.5, -2},  // 4-6 behind the camera
      {-0.6, -0.6, 0.05}, {0.6, -0.5, 3}, {0.0, 0.7, 3},  // 7-9 crosses the near plane
      {5, 5, 2}, {6, 5, 2}, {5, 6, 2},                    // 10-12 off-screen
      {-0.4, -0.3, 2}, {0.5, -0.2, 8}, {0.1, 0.6, 0.2},   // 13-15 steep depth (persp + blur)
      {-0.2, -0.2, 2}, {0.3, -0.1, 2.5}, {0.0, 0.4, 3},   // 16-18 normal
  };
  std::vector<int64_t> F = {0, 1, 2, 3, 3, 3, 3, 3, 16, 4, 5, 6, 7, 8, 9,
                            10, 11, 12, 13, 14, 15, 16, 17, 18, 18, 17, 16};
  at::Tensor verts = at::empty({1, (int64_t)V.size(), 3}, at::kDouble);
  for (size_t k = 0; k < V.size(); ++k)
    for (int d = 0; d < 3; ++d) verts.data_ptr<double>()[k * 3 + d] = V[k][d];
  at::Tensor faces = at::tensor(F, at::kLong).reshape({-1, 3});
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (TopKParams p : configs()) {
      p.znear = 0.1;
      p.blur = p.blur > 0 ? 0.05 : 0.0;
      GradRun r = run_with_grad(verts.to(dt), faces, p);
      EXPECT_TRUE(all_finite(r.fr.bary)) << describe(p);
      EXPECT_TRUE(all_finite(r.fr.zbuf)) << describe(p);
      EXPECT_TRUE(all_finite(r.fr.dists)) << describe(p);
      EXPECT_TRUE(all_finite(r.grad)) << describe(p);
      // collinear, behind-camera, near-crossing and off-screen faces never win a slot
      for (int64_t bad : {0, 3, 4, 5}) EXPECT_FALSE(r.fr.p2f.eq(bad).any().item<bool>());
      EXPECT_TRUE(r.fr.p2f.ge(0).any().item<bool>());
      at::Tensor valid = r.fr.p2f.ge(0);
      EXPECT_TRUE(r.fr.zbuf.masked_select(valid).gt(p.znear).all().item<bool>());
    }
  }
  // empty mesh and empty batch
  TopKParams p;
  Frags e = topk(at::zeros({2, 0, 3}), at::zeros({0, 3}, at::kLong), p);
  EXPECT_TRUE(e.p2f.eq(-1).all().item<bool>());
  EXPECT_EQ(e.overflow.sum().item<int64_t>(), 0);
  GradRun r = run_with_grad(at::zeros({2, 4, 3}), at::zeros({0, 3}, at::kLong), p);
  EXPECT_EQ(r.grad.abs().sum().item<double>(), 0.0);
}

TEST(RasterTopK, ErrorsNameTheOpAndTheShapes) {
  rc_tensor* out[5] = {};
  Handle v(at::zeros({1, 4, 3}, at::kFloat));
  Handle f_bad(at::tensor(std::vector<int64_t>{0, 1, 4}, at::kLong).reshape({1, 3}));
  EXPECT_EQ(rc_raster_topk(v.h, f_bad.h, 8, 8, 2, 0.0, 0, 0, 0.1, 1, out), RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_topk: faces must index vertices in [0, 4), received indices in [0, 4]");
  Handle v_bad(at::zeros({4, 3}, at::kFloat));
  Handle f(at::zeros({1, 3}, at::kLong));
  EXPECT_EQ(rc_raster_topk(v_bad.h, f.h, 8, 8, 2, 0.0, 0, 0, 0.1, 1, out), RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_topk: verts must have shape (N,V,3), received float32[4, 3]");
  EXPECT_EQ(rc_raster_topk(v.h, f.h, 8, 8, 0, 0.0, 0, 0, 0.1, 1, out), RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("faces_per_pixel"), std::string::npos);
  EXPECT_EQ(rc_raster_topk(v.h, f.h, 8, 8, 2, -1.0, 0, 0, 0.1, 1, out), RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("blur_radius"), std::string::npos);
  EXPECT_EQ(out[0], nullptr);
}

TEST(RasterTopK, IcosphereFrontFacesCoverTheSilhouette) {
  // A closed convex mesh: with culling, the nearest face under every covered pixel is a
  // front face, and K=1 coverage equals the unculled coverage.
  auto [verts, faces] = projected_ellipsoids(3, 2, {0.4, 0.28, 0.28}, 2.732, 30.0, 9);
  TopKParams p;
  p.H = p.W = 32;
  p.K = 1;
  p.persp = true;
  Frags all = topk(verts, faces, p);
  p.cull = true;
  Frags front = topk(verts, faces, p);
  EXPECT_TRUE(at::equal(all.p2f.ge(0), front.p2f.ge(0)));
  EXPECT_TRUE(at::equal(all.p2f, front.p2f));
  EXPECT_GT(front.p2f.ge(0).sum().item<int64_t>(), 3 * 100);
}
