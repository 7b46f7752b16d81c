// Tests of rc_raster_soft (SoftRas forward/backward) through the C ABI and libtorch autograd.
#include <gtest/gtest.h>

#include "raster_test_util.h"

using namespace rt;

namespace {

at::Tensor alpha_of(const at::Tensor& img) { return img.select(1, img.size(1) - 1); }

// Random upstream weights so every output pixel and channel matters in the loss.
at::Tensor weights_like(const at::Tensor& t, uint32_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::rand(t.sizes(), gen, t.options()) - 0.5;
}

// Central finite differences of loss(x) against autograd, relative to the largest gradient.
template <class Fn>
void expect_grad_matches_fd(Fn loss, const at::Tensor& x0, double h, double rtol,
                            const char* what) {
  at::Tensor x = x0.detach().clone().set_requires_grad(true);
  at::Tensor L = loss(x);
  at::Tensor g = torch::autograd::grad({L}, {x})[0].contiguous();
  ASSERT_TRUE(all_finite(g)) << what;
  at::Tensor fd = at::zeros_like(g);
  {
    at::NoGradGuard ng;
    at::Tensor xf = x0.detach().clone().contiguous();
    double* p = xf.data_ptr<double>();
    double* pfd = fd.data_ptr<double>();
    for (int64_t k = 0; k < xf.numel(); ++k) {
      const double v = p[k];
      p[k] = v + h;
      const double lp = at::Tensor(loss(xf)).item<double>();
      p[k] = v - h;
      const double lm = at::Tensor(loss(xf)).item<double>();
      p[k] = v;
      pfd[k] = (lp - lm) / (2 * h);
    }
  }
  const double scale = std::max(1e-8, fd.abs().max().item<double>());
  const double err = max_abs_diff(g, fd);
  EXPECT_LT(err / scale, rtol) << what << ": max |autograd - fd| = " << err
                               << ", max |fd| = " << scale;
  EXPECT_GT(scale, 1e-6) << what << ": gradient unexpectedly zero";
}

// Gradients of sum(w * image) w.r.t. face vertices (and colours when given).
std::pair<at::Tensor, at::Tensor> soft_grads(const at::Tensor& fv0, const at::Tensor& col0,
                                             const SoftParams& p, const at::Tensor& w) {
  at::Tensor fv = fv0.detach().clone().set_requires_grad(true);
  at::Tensor col = col0.defined() ? col0.detach().clone().set_requires_grad(true) : at::Tensor();
  at::Tensor img = soft(fv, col, p);
  at::Tensor L = (img * w).sum();
  if (col.defined()) {
    auto g = torch::autograd::grad({L}, {fv, col});
    return {g[0], g[1]};
  }
  return {torch::autograd::grad({L}, {fv})[0], at::Tensor()};
}

SoftParams colour_params() {
  SoftParams p;
  p.H = 18;
  p.W = 21;
  p.sigma = 1e-3;
  p.gamma = 1e-2;
  p.dist_eps = 1e-4;
  p.background = {0.2, 0.5, 0.9};
  return p;
}

}  // namespace

TEST(RasterSoft, SilhouetteForwardMatchesBruteForce) {
  at::Tensor fv = random_face_vertices(3, 14, 1);
  SoftParams p;
  p.H = 20;
  p.W = 19;  // not a multiple of 8: exercises the lane masks
  p.sigma = 1e-3;
  at::Tensor ref = ref_soft(fv, at::Tensor(), p);
  at::Tensor out64 = soft(fv, at::Tensor(), p);
  EXPECT_EQ(out64.sizes(), (at::IntArrayRef{3, 1, 20, 19}));
  EXPECT_LT(max_abs_diff(out64, ref), 1e-10);
  for (int simd : {0, 1}) {
    p.simd = simd != 0;
    at::Tensor out32 = soft(fv.to(at::kFloat), at::Tensor(), p);
    EXPECT_EQ(out32.scalar_type(), at::kFloat);
    EXPECT_LT(max_abs_diff(out32, ref), 2e-5) << "simd=" << simd;
  }
  EXPECT_GT(alpha_of(ref).sum().item<double>(), 10.0);  // the scene is not empty
}

TEST(RasterSoft, ColourForwardMatchesBruteForce) {
  at::Tensor fv = random_face_vertices(2, 12, 2);
  at::Tensor col = random_colors(2, 12, 3, 3);
  for (bool ds : {false, true}) {
    SoftParams p = colour_params();
    p.double_side = ds;
    at::Tensor ref = ref_soft(fv, col, p);
    at::Tensor out64 = soft(fv, col, p);
    EXPECT_EQ(out64.sizes(), (at::IntArrayRef{2, 4, 18, 21}));
    EXPECT_LT(max_abs_diff(out64, ref), 1e-9) << "double_side=" << ds;
    at::Tensor out32 = soft(fv.to(at::kFloat), col.to(at::kFloat), p);
    EXPECT_LT(max_abs_diff(out32, ref), 5e-5) << "double_side=" << ds;
  }
  // SoftRas defaults (sharp softmax) in float64
  SoftParams p = colour_params();
  p.sigma = 1e-5;
  p.gamma = 1e-4;
  EXPECT_LT(max_abs_diff(soft(fv, col, p), ref_soft(fv, col, p)), 1e-8);
}

TEST(RasterSoft, SilhouetteGradientMatchesFiniteDifferences) {
  at::Tensor fv = random_face_vertices(2, 5, 4, 0.3, 0.9);
  SoftParams p;
  p.H = p.W = 12;
  p.dist_eps = 1e-30;  // the cut-off lies where D ~ 1e-30: no visible jump for the FD step
  for (double sigma : {1e-2, 2e-3}) {
    p.sigma = sigma;
    at::Tensor w = weights_like(at::empty({2, 1, 12, 12}, at::kDouble), 5);
    expect_grad_matches_fd([&](const at::Tensor& x) { return (soft(x, at::Tensor(), p) * w).sum(); },
                           fv, 1e-6, 1e-4, "silhouette d/dfv");
  }
}

TEST(RasterSoft, ColourGradientMatchesFiniteDifferences) {
  at::Tensor fv = random_face_vertices(1, 4, 6, 0.4, 1.0);
  at::Tensor col = random_colors(1, 4, 2, 7);
  for (bool ds : {false, true}) {
    SoftParams p;
    p.H = p.W = 10;
    p.sigma = 1e-2;
    p.gamma = 5e-2;
    p.dist_eps = 1e-30;
    p.double_side = ds;
    p.background = {0.3, 0.7};
    at::Tensor w = weights_like(at::empty({1, 3, 10, 10}, at::kDouble), 8);
    expect_grad_matches_fd([&](const at::Tensor& x) { return (soft(x, col, p) * w).sum(); }, fv,
                           1e-6, 2e-4, "colour d/dfv (x, y, z)");
    expect_grad_matches_fd([&](const at::Tensor& c) { return (soft(fv, c, p) * w).sum(); }, col,
                           1e-6, 1e-5, "colour d/dcolors");
  }
}

TEST(RasterSoft, FaceOrderDoesNotMatter) {
  at::Tensor fv = random_face_vertices(2, 30, 9);
  at::Tensor col = random_colors(2, 30, 3, 10);
  at::Tensor perm = at::randperm(30, at::make_generator<at::CPUGeneratorImpl>(3));
  SoftParams p = colour_params();
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (bool rgb : {false, true}) {
      at::Tensor f = fv.to(dt), c = rgb ? col.to(dt) : at::Tensor();
      at::Tensor fp = f.index_select(1, perm), cp = rgb ? c.index_select(1, perm) : at::Tensor();
      at::Tensor w = weights_like(at::empty({2, rgb ? 4 : 1, p.H, p.W}, dt), 11);
      double tol = dt == at::kFloat ? 2e-6 : 1e-12;
      EXPECT_LT(max_abs_diff(soft(f, c, p), soft(fp, cp, p)), tol);
      auto g = soft_grads(f, c, p, w);
      auto gp = soft_grads(fp, cp, p, w);
      double scale = g.first.abs().max().item<double>();
      EXPECT_LT(max_abs_diff(g.first.index_select(1, perm), gp.first), tol * 10 * scale);
      if (rgb) EXPECT_LT(max_abs_diff(g.second.index_select(1, perm), gp.second), tol * 10);
    }
  }
}

TEST(RasterSoft, BatchEqualsOneByOneBitwise) {
  at::Tensor fv = random_face_vertices(4, 20, 12);
  at::Tensor col = random_colors(4, 20, 3, 13);
  SoftParams p = colour_params();
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (bool rgb : {false, true}) {
      at::Tensor f = fv.to(dt), c = rgb ? col.to(dt) : at::Tensor();
      at::Tensor w = weights_like(at::empty({4, rgb ? 4 : 1, p.H, p.W}, dt), 14);
      at::Tensor all = soft(f, c, p);
      auto g = soft_grads(f, c, p, w);
      for (int64_t n = 0; n < 4; ++n) {
        at::Tensor fn = f.narrow(0, n, 1), cn = rgb ? c.narrow(0, n, 1) : at::Tensor();
        EXPECT_TRUE(bitwise_equal(all.narrow(0, n, 1), soft(fn, cn, p)));
        auto gn = soft_grads(fn, cn, p, w.narrow(0, n, 1));
        EXPECT_TRUE(bitwise_equal(g.first.narrow(0, n, 1), gn.first));
        if (rgb) EXPECT_TRUE(bitwise_equal(g.second.narrow(0, n, 1), gn.second));
      }
    }
  }
}

TEST(RasterSoft, OneAndTwoThreadsBitwiseIdentical) {
  ThreadGuard tg;
  at::Tensor fv = random_face_vertices(7, 25, 15);
  at::Tensor col = random_colors(7, 25, 3, 16);
  SoftParams p = colour_params();
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (bool rgb : {false, true}) {
      at::Tensor f = fv.to(dt), c = rgb ? col.to(dt) : at::Tensor();
      at::Tensor w = weights_like(at::empty({7, rgb ? 4 : 1, p.H, p.W}, dt), 17);
      at::set_num_threads(1);
      at::Tensor o1 = soft(f, c, p);
      auto g1 = soft_grads(f, c, p, w);
      at::set_num_threads(2);
      at::Tensor o2 = soft(f, c, p);
      auto g2 = soft_grads(f, c, p, w);
      EXPECT_TRUE(bitwise_equal(o1, o2));
      EXPECT_TRUE(bitwise_equal(g1.first, g2.first));
      if (rgb) EXPECT_TRUE(bitwise_equal(g1.second, g2.second));
    }
  }
}

TEST(RasterSoft, SimdAndScalarAgree) {
  at::Tensor fv = random_face_vertices(3, 40, 18, 0.02, 0.5).to(at::kFloat);
  SoftParams p;
  p.H = 32;
  p.W = 29;
  p.sigma = 1e-4;
  p.dist_eps = 1e-10;
  at::Tensor w = weights_like(at::empty({3, 1, 32, 29}, at::kFloat), 19);
  std::pair<at::Tensor, at::Tensor> g[2];
  at::Tensor o[2];
  for (int simd : {0, 1}) {
    p.simd = simd != 0;
    o[simd] = soft(fv, at::Tensor(), p);
    g[simd] = soft_grads(fv, at::Tensor(), p, w);
  }
  EXPECT_LT(max_abs_diff(o[0], o[1]), 1e-5);
  double scale = g[0].first.abs().max().item<double>();
  EXPECT_LT(max_abs_diff(g[0].first, g[1].first), 1e-4 * scale);
}

TEST(RasterSoft, DegenerateAndClippedGeometryStaysFinite) {
  // (N=1, F, 3, 3): each face is one hazard
  std::vector<std::array<double, 9>> faces = {
      {-0.5, -0.5, 2, 0.0, 0.0, 2, 0.5, 0.5, 2},       // collinear (zero area)
      {0.1, 0.2, 2, 0.1, 0.2, 2, 0.1, 0.2, 2},         // three identical vertices
      {-0.3, 0.4, 2, -0.3, 0.4, 2, 0.2, 0.6, 2},       // two identical vertices
      {-0.5, -0.5, -2, 0.5, -0.5, -2, 0.0, 0.5, -2},   // behind the camera
      {-0.5, -0.5, 0.2, 0.5, -0.5, 3, 0.0, 0.5, 3},    // crosses the near plane
      {5.0, 5.0, 2, 6.0, 5.0, 2, 5.0, 6.0, 2},         // off-screen
      {-1e30, -1e30, 2, 1e30, -1e30, 2, 0, 1e30, 2},   // enormous
      {-0.2, -0.2, 2, 0.3, -0.1, 2.5, 0.0, 0.4, 3},    // a normal face
  };
  at::Tensor fv = at::empty({1, (int64_t)faces.size(), 3, 3}, at::kDouble);
  for (size_t f = 0; f < faces.size(); ++f)
    for (int k = 0; k < 9; ++k) fv.data_ptr<double>()[f * 9 + k] = faces[f][k];
  at::Tensor col = random_colors(1, faces.size(), 3, 20);
  SoftParams p = colour_params();
  p.znear = 1.0;
  for (int simd : {0, 1}) {
    p.simd = simd != 0;
    for (auto dt : {at::kFloat, at::kDouble}) {
      for (bool rgb : {false, true}) {
        for (double sigma : {1e-2, 1e-4, 1e-6}) {
          p.sigma = sigma;
          at::Tensor f = fv.to(dt), c = rgb ? col.to(dt) : at::Tensor();
          at::Tensor img = soft(f, c, p);
          EXPECT_TRUE(all_finite(img));
          EXPECT_GE(img.min().item<double>(), 0.0);
          EXPECT_LE(img.max().item<double>(), 1.0 + 1e-6);
          at::Tensor w = weights_like(img, 21);
          auto g = soft_grads(f, c, p, w);
          EXPECT_TRUE(all_finite(g.first)) << "simd=" << simd << " rgb=" << rgb;
          if (rgb) EXPECT_TRUE(all_finite(g.second));
          // dropped faces (behind / crossing the near plane) get no gradient
          EXPECT_EQ(g.first[0][3].abs().sum().item<double>(), 0.0);
          EXPECT_EQ(g.first[0][4].abs().sum().item<double>(), 0.0);
        }
      }
    }
  }
  // empty mesh: alpha 0, colour = background
  at::Tensor empty = at::zeros({2, 0, 3, 3}, at::kFloat);
  at::Tensor img = soft(empty, at::zeros({2, 0, 3, 3}, at::kFloat), colour_params());
  EXPECT_EQ(alpha_of(img).abs().max().item<double>(), 0.0);
  EXPECT_NEAR(img[1][2][3][4].item<double>(), 0.9, 1e-7);
  at::Tensor sil = soft(empty, at::Tensor(), p);
  EXPECT_EQ(sil.sizes(), (at::IntArrayRef{2, 1, p.H, p.W}));
  EXPECT_EQ(sil.abs().max().item<double>(), 0.0);
}

TEST(RasterSoft, SharpLimitEqualsZBufferCoverage) {
  at::Tensor fv = random_face_vertices(2, 10, 22);
  SoftParams p;
  p.H = p.W = 32;
  p.sigma = 1e-8;
  at::Tensor cov = ref_coverage(fv, p.H, p.W, p.znear);
  // pixels closer than ~5 sqrt(sigma) to some edge are still soft; leave them out
  at::Tensor near_edge = at::zeros_like(cov, at::kBool);
  {
    const double* pf = fv.data_ptr<double>();
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < p.H; ++i)
        for (int64_t j = 0; j < p.W; ++j)
          for (int64_t f = 0; f < 10; ++f) {
            RefPair r = ref_pair(pf + (n * 10 + f) * 9, px_centre(j, p.W), px_centre(i, p.H));
            if (r.d2 < 25 * p.sigma) near_edge.data_ptr<bool>()[(n * p.H + i) * p.W + j] = true;
          }
  }
  for (auto dt : {at::kFloat, at::kDouble}) {
    at::Tensor a = soft(fv.to(dt), at::Tensor(), p).to(at::kDouble);
    at::Tensor diff = (a - cov).abs().masked_fill(near_edge, 0.0);
    EXPECT_LT(diff.max().item<double>(), 1e-4);
    EXPECT_LT(near_edge.to(at::kDouble).mean().item<double>(), 0.05);
  }
}

TEST(RasterSoft, ErrorsNameTheOpAndTheShapes) {
  rc_tensor* out[1] = {nullptr};
  Handle bad(at::zeros({2, 5, 3}, at::kFloat));
  EXPECT_EQ(rc_raster_soft(bad.h, nullptr, 8, 8, 1e-4, 1e-4, 1e-3, 1e-4, 1, 100, 0, nullptr, 1, out),
            RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_soft: face_vertices must have shape (N,F,3,3), received float32[2, 5, 3]");
  Handle ints(at::zeros({1, 2, 3, 3}, at::kInt));
  EXPECT_EQ(rc_raster_soft(ints.h, nullptr, 8, 8, 1e-4, 1e-4, 1e-3, 1e-4, 1, 100, 0, nullptr, 1, out),
            RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("float32 or float64"), std::string::npos);
  Handle fv(at::zeros({1, 2, 3, 3}, at::kFloat));
  Handle col(at::zeros({1, 3, 3, 3}, at::kFloat));
  EXPECT_EQ(rc_raster_soft(fv.h, col.h, 8, 8, 1e-4, 1e-4, 1e-3, 1e-4, 1, 100, 0, nullptr, 1, out),
            RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("face_colors must have shape (N,F,3,C)"),
            std::string::npos);
  EXPECT_EQ(rc_raster_soft(fv.h, nullptr, 8, 8, 1e-4, 1e-4, 1e-3, 0.0, 1, 100, 0, nullptr, 1, out),
            RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("dist_eps"), std::string::npos);
  EXPECT_EQ(rc_raster_soft(nullptr, nullptr, 8, 8, 1e-4, 1e-4, 1e-3, 1e-4, 1, 100, 0, nullptr, 1, out),
            RC_ERROR);
  EXPECT_EQ(out[0], nullptr);
}

TEST(RasterSoft, NoHandleLeaks) {
  const int64_t before = rc::live_tensors.load();
  at::Tensor fv = random_face_vertices(2, 6, 23).to(at::kFloat);
  for (int k = 0; k < 3; ++k) soft_grads(fv, at::Tensor(), SoftParams(), weights_like(at::empty({2, 1, 16, 16}), 1));
  EXPECT_EQ(rc::live_tensors.load(), before);
}
