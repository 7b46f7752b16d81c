// Tests of rc_raster_hard_textured (the fused hard textured render) through the C ABI: against
// the same image composed from rc_raster_topk (K = 1) and ATen ops, its coverage against the
// brute-force z-buffer, and the batch / thread / robustness / error invariants.
#include <gtest/gtest.h>

#include "raster_test_util.h"

using namespace rt;

namespace {

struct HardParams {
  int64_t supersample = 2;
  double znear = 0.1, ambient = 0.45, diffuse = 0.55;
  std::array<double, 3> light{-0.4, -0.6, -1.0};
  bool two_sided = true;
  bool simd = true;  // AVX2 when the CPU has it; false: the portable path
};

// rc_raster_hard_textured: {image (N,C,H,W), alpha (N,1,H,W)}.
std::pair<at::Tensor, at::Tensor> hard(const at::Tensor& verts, const at::Tensor& points,
                                       const at::Tensor& faces, const at::Tensor& face_uvs,
                                       const at::Tensor& atlas, const at::Tensor& background,
                                       const HardParams& p) {
  Handle hv(verts), hp(points), hf(faces), hu(face_uvs), ht(atlas), hb(background);
  rc_tensor* out[2] = {};
  int rc = rc_raster_hard_textured(hv.h, hp.h, hf.h, hu.h, ht.h, hb.h, p.supersample, p.znear,
                                   p.ambient, p.diffuse, p.light.data(), p.two_sided ? 1 : 0,
                                   p.simd ? 1 : 0, out);
  if (rc != RC_OK) throw std::runtime_error(rc_error_message());
  return {take(out[0]), take(out[1])};
}

// Projected ellipsoids (level 2: many faces fall between subpixel centres, so the kernel's
// pre-cull drops them), their camera-frame points, UVs per face corner that reach past [0, 1]
// (border clamping) with a few faces pinned to the atlas' last texel, an atlas with values
// outside [0, 1] (the colour clamp, and two-sided light on negative texels) and a background.
struct Scene {
  at::Tensor verts, points, faces, face_uvs, atlas, background;
};

Scene scene(int64_t N, int level, int64_t C, int64_t H, int64_t W, at::ScalarType dt,
            uint32_t seed) {
  const double fov = 30.0, t = std::tan(fov * M_PI / 360.0);
  auto [verts, mesh_faces] = projected_ellipsoids(N, level, {0.6, 0.42, 0.42}, 2.732, fov, seed);
  // every face twice, the copies in reverse order and with their own UVs: equal depths, so
  // the tie rule (the smaller face index) decides which texture shows
  at::Tensor faces = at::cat({mesh_faces, mesh_faces.flip(0)}, 0);
  at::Tensor z = verts.select(2, 2);
  at::Tensor points = at::stack({verts.select(2, 0) * z * t, verts.select(2, 1) * z * t, z}, 2);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 100);
  const int64_t F = faces.size(0);
  at::Tensor fuv = at::rand({F, 3, 2}, gen, at::kDouble) * 1.4 - 0.2;
  fuv.narrow(0, 0, std::min<int64_t>(F, 10)).fill_(1.0);
  at::Tensor atlas = at::rand({C, 7, 5}, gen, at::kDouble) * 1.6 - 0.3;
  at::Tensor bg = at::rand({N, C, H, W}, gen, at::kDouble);
  return {verts.to(dt), points.to(dt), faces, fuv.to(dt), atlas.to(dt), bg.to(dt)};
}

// The reference: Fragments from rc_raster_topk at the supersampled size, then the UVs,
// grid_sampler, face normals, light, clamp, avg_pool2d and the composite as ATen ops.
std::pair<at::Tensor, at::Tensor> composed(const Scene& s, const HardParams& p) {
  const int64_t N = s.verts.size(0), C = s.atlas.size(0), H = s.background.size(2),
                W = s.background.size(3), S = p.supersample, Hs = H * S, Ws = W * S;
  TopKParams tp;
  tp.H = Hs;
  tp.W = Ws;
  tp.K = 1;
  tp.blur = 0.0;
  tp.znear = p.znear;
  tp.persp = true;
  tp.cull = false;
  tp.simd = p.simd;
  Frags fr = topk(s.verts, s.faces, tp);
  const auto opts = s.verts.options();
  at::Tensor valid = fr.p2f.ge(0).to(s.verts.scalar_type()).reshape({N, 1, Hs, Ws});
  at::Tensor idx = fr.p2f.clamp_min(0).reshape({N, Hs * Ws});
  at::Tensor corner = s.face_uvs.index_select(0, idx.reshape({-1})).reshape({N, Hs, Ws, 3, 2});
  at::Tensor uv = (corner * fr.bary.reshape({N, Hs, Ws, 3, 1})).sum(3);
  at::Tensor texel = at::grid_sampler(s.atlas.unsqueeze(0).expand({N, C, s.atlas.size(1), s.atlas.size(2)}),
                                      uv * 2 - 1, 0, 1, false);  // (N,C,Hs,Ws)
  at::Tensor fp = gather_faces(s.points, s.faces);  // (N,F,3,3)
  at::Tensor v0 = fp.select(2, 0), v1 = fp.select(2, 1), v2 = fp.select(2, 2);
  at::Tensor n = at::cross(v1 - v0, v2 - v0, -1);
  at::Tensor unit = n / n.norm(2, -1, true).clamp_min(1e-12);  // (N,F,3)
  at::Tensor pn = unit.gather(1, idx.unsqueeze(-1).expand({N, Hs * Ws, 3}));
  const double ln = std::sqrt(p.light[0] * p.light[0] + p.light[1] * p.light[1] + p.light[2] * p.light[2]);
  at::Tensor l = at::tensor({p.light[0] / ln, p.light[1] / ln, p.light[2] / ln}, opts);
  at::Tensor cosine = (pn * l).sum(-1).reshape({N, 1, Hs, Ws});
  at::Tensor lit = texel * (cosine.clamp_min(0) * p.diffuse + p.ambient);
  if (p.two_sided) lit = at::maximum(lit, texel * ((-cosine).clamp_min(0) * p.diffuse + p.ambient));
  at::Tensor c = lit.clamp(0, 1) * valid;
  at::Tensor rgb = at::avg_pool2d(c, {S, S}, {S, S});
  at::Tensor a = at::avg_pool2d(valid, {S, S}, {S, S});
  return {(rgb + (1 - a) * s.background).clamp(0, 1), a};
}

std::vector<HardParams> configs() {
  std::vector<HardParams> out;
  for (int64_t S : {1, 2, 3})
    for (bool two : {false, true}) {
      HardParams p;
      p.supersample = S;
      p.two_sided = two;
      p.znear = 0.5;
      // a light from the side, so that visible faces see it from both signs
      if (S == 2) p.light = {1.0, 0.2, 0.3};
      if (S == 3) p.ambient = 0.2, p.diffuse = 1.1;
      out.push_back(p);
    }
  return out;
}

std::string describe(const HardParams& p) {
  return "s=" + std::to_string(p.supersample) + " two_sided=" + std::to_string(p.two_sided) +
         " light=(" + std::to_string(p.light[0]) + "," + std::to_string(p.light[1]) + "," +
         std::to_string(p.light[2]) + ")";
}

}  // namespace

TEST(RasterHard, MatchesTheComposedTopKAndAtenOps) {
  for (auto dt : {at::kDouble, at::kFloat}) {
    for (int simd : {0, 1}) {
      for (int64_t C : {3, 2}) {
        for (HardParams p : configs()) {
          p.simd = simd != 0;
          Scene s = scene(3, 2, C, 13, 11, dt, 3);
          auto [img, a] = hard(s.verts, s.points, s.faces, s.face_uvs, s.atlas, s.background, p);
          auto [ci, ca] = composed(s, p);
          ASSERT_EQ(img.sizes(), ci.sizes());
          ASSERT_EQ(a.sizes(), ca.sizes());
          const double tol = dt == at::kDouble ? 1e-12 : 2e-6;
          EXPECT_LT(max_abs_diff(img, ci), tol) << describe(p) << " C=" << C;
          EXPECT_LT(max_abs_diff(a, ca), tol) << describe(p);
          // the scene exercises what it claims: covered, partly covered and empty pixels
          EXPECT_GT(ca.eq(1).sum().item<int64_t>(), 20) << describe(p);
          EXPECT_GT(ca.eq(0).sum().item<int64_t>(), 20) << describe(p);
          if (p.supersample > 1)
            EXPECT_GT((ca.gt(0) & ca.lt(1)).sum().item<int64_t>(), 5) << describe(p);
        }
      }
    }
  }
}

TEST(RasterHard, AlphaIsTheBruteForceCoverage) {
  // z-buffer coverage by plain double loops (Cramer barycentrics), pooled over the subpixels
  Scene s = scene(2, 2, 3, 9, 10, at::kDouble, 21);
  for (const HardParams& p : configs()) {
    const int64_t S = p.supersample;
    auto out = hard(s.verts, s.points, s.faces, s.face_uvs, s.atlas, s.background, p);
    at::Tensor cov = ref_coverage(gather_faces(s.verts, s.faces), 9 * S, 10 * S, p.znear);
    EXPECT_LT(max_abs_diff(out.second, at::avg_pool2d(cov, {S, S}, {S, S})), 1e-15) << describe(p);
  }
}

TEST(RasterHard, SidesAndLightFollowTheFaceNormal) {
  // one front-facing triangle filling the centre, textured white: its shade is the light term
  at::Tensor verts = at::tensor({-0.8, 0.8, 2.0, 0.8, 0.8, 2.0, 0.0, -0.8, 2.0}, at::kDouble)
                         .reshape({1, 3, 3});
  at::Tensor faces = at::tensor({0, 1, 2}, at::kLong).reshape({1, 3});
  at::Tensor fuv = at::full({1, 3, 2}, 0.5, at::kDouble);
  at::Tensor atlas = at::ones({3, 2, 2}, at::kDouble);
  at::Tensor bg = at::zeros({1, 3, 4, 4}, at::kDouble);
  // the points give the normal: in the plane z = 2, n = (p1 - p0) x (p2 - p0) points along -z
  // (towards the camera) for this front-facing winding
  at::Tensor points = verts.clone();
  HardParams p;
  p.supersample = 1;
  p.ambient = 0.25;
  p.diffuse = 0.5;
  p.light = {0.0, 0.0, -2.0};  // towards the camera: cos = 1 for the front side
  p.two_sided = false;
  auto lit = hard(verts, points, faces, fuv, atlas, bg, p);
  EXPECT_NEAR(lit.first[0][0][2][1].item<double>(), 0.75, 1e-12);
  EXPECT_EQ(lit.second[0][0][2][1].item<double>(), 1.0);
  p.light = {0.0, 0.0, 1.0};  // from behind: only ambient, unless two-sided
  auto back = hard(verts, points, faces, fuv, atlas, bg, p);
  EXPECT_NEAR(back.first[0][0][2][1].item<double>(), 0.25, 1e-12);
  p.two_sided = true;
  auto both = hard(verts, points, faces, fuv, atlas, bg, p);
  EXPECT_NEAR(both.first[0][0][2][1].item<double>(), 0.75, 1e-12);
  // an empty corner shows the background with alpha 0
  EXPECT_EQ(both.second[0][0][0][0].item<double>(), 0.0);
  EXPECT_EQ(both.first[0][0][0][0].item<double>(), 0.0);
}

TEST(RasterHard, BatchEqualsOneByOneAndThreadsBitwise) {
  ThreadGuard tg;
  for (auto dt : {at::kFloat, at::kDouble}) {
    Scene s = scene(5, 2, 3, 12, 12, dt, 11);
    HardParams p = configs()[3];
    auto run = [&](int64_t b0, int64_t n) {
      auto out = hard(s.verts.narrow(0, b0, n), s.points.narrow(0, b0, n), s.faces, s.face_uvs,
                      s.atlas, s.background.narrow(0, b0, n), p);
      return std::vector<at::Tensor>{out.first, out.second};
    };
    expect_batch_and_threads_bitwise(run);
  }
}

TEST(RasterHard, DegenerateGeometryAndEmptyMeshesStayFinite) {
  auto [verts, faces] = troublesome_mesh();
  at::Tensor fuv = at::rand({faces.size(0), 3, 2}, at::kDouble);
  at::Tensor atlas = at::rand({3, 4, 4}, at::kDouble);
  at::Tensor bg = at::rand({1, 3, 6, 6}, at::kDouble);
  for (auto dt : {at::kFloat, at::kDouble}) {
    for (HardParams p : configs()) {
      // the camera points double as normals' source: degenerate faces have a zero normal
      auto out = hard(verts.to(dt), verts.to(dt), faces, fuv.to(dt), atlas.to(dt), bg.to(dt), p);
      EXPECT_TRUE(all_finite(out.first) && all_finite(out.second)) << describe(p);
      EXPECT_TRUE(out.first.ge(0).all().item<bool>() && out.first.le(1).all().item<bool>());
      // the far face covers every pixel
      EXPECT_TRUE(out.second.eq(1).all().item<bool>()) << describe(p);
    }
  }
  // an empty mesh renders the background with alpha 0
  at::Tensor bg2 = at::rand({2, 3, 4, 4}, at::kFloat);
  auto e = hard(at::zeros({2, 0, 3}), at::zeros({2, 0, 3}), at::zeros({0, 3}, at::kLong),
                at::zeros({0, 3, 2}), at::rand({3, 4, 4}), bg2, HardParams{});
  EXPECT_TRUE(e.second.eq(0).all().item<bool>());
  EXPECT_TRUE(bitwise_equal(e.first, bg2));
}

TEST(RasterHard, ErrorsNameTheOpAndTheArgument) {
  rc_tensor* out[2] = {};
  const double light[3] = {0, 0, -1};
  Handle v(at::zeros({1, 4, 3}, at::kFloat));
  Handle f(at::zeros({2, 3}, at::kLong));
  Handle uv(at::zeros({2, 3, 2}, at::kFloat));
  Handle tex(at::zeros({3, 4, 4}, at::kFloat));
  Handle bg(at::zeros({1, 3, 8, 8}, at::kFloat));
  auto call = [&](const Handle& pts, const Handle& t, const Handle& b, int64_t s, const double* l) {
    return rc_raster_hard_textured(v.h, pts.h, f.h, uv.h, t.h, b.h, s, 0.1, 0.45, 0.55, l, 1, 1, out);
  };
  Handle pts_bad(at::zeros({1, 5, 3}, at::kFloat));
  EXPECT_EQ(call(pts_bad, tex, bg, 2, light), RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_hard_textured: points must have the shape of verts (float32[1, 4, 3]), "
               "received float32[1, 5, 3]");
  Handle tex_bad(at::zeros({1, 3, 4, 4}, at::kFloat));
  EXPECT_EQ(call(v, tex_bad, bg, 2, light), RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_hard_textured: atlas must have shape (C,Ht,Wt) with C, Ht, Wt >= 1, "
               "received float32[1, 3, 4, 4]");
  Handle bg_bad(at::zeros({1, 4, 8, 8}, at::kFloat));
  EXPECT_EQ(call(v, tex, bg_bad, 2, light), RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("background must have shape (N,C,H,W) with N=1, C=3"),
            std::string::npos);
  Handle bg_f64(at::zeros({1, 3, 8, 8}, at::kDouble));
  EXPECT_EQ(call(v, tex, bg_f64, 2, light), RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("background must have the dtype of verts"),
            std::string::npos);
  EXPECT_EQ(call(v, tex, bg, 0, light), RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("supersample must be >= 1"), std::string::npos);
  const double zero[3] = {0, 0, 0};
  EXPECT_EQ(call(v, tex, bg, 2, zero), RC_ERROR);
  EXPECT_STREQ(rc_error_message(),
               "rc_raster_hard_textured: light_direction must be finite and non-zero, received (0, 0, 0)");
  EXPECT_EQ(call(v, tex, bg, 2, nullptr), RC_ERROR);
  EXPECT_NE(std::string(rc_error_message()).find("light_direction"), std::string::npos);
  EXPECT_EQ(out[0], nullptr);
}
