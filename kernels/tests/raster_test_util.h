// Shared helpers for the raster tests and benchmark: C-ABI wrappers, random meshes, an
// icosphere, and the brute-force references (plain double loops, written independently of
// the kernels: different distance and barycentric formulas, two-pass softmax).
#pragma once
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <array>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "rc_raster.h"
#include "tensor_handle.h"

namespace rt {

// ------------------------------------------------------------------ C ABI wrappers

struct Handle {
  rc_tensor* h = nullptr;
  explicit Handle(const at::Tensor& t) : h(rc::wrap(t)) {}
  ~Handle() {
    if (h) {
      delete h;
      rc::live_tensors.fetch_sub(1);
    }
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

inline at::Tensor take(rc_tensor* h) {
  at::Tensor t = h->t;
  delete h;
  rc::live_tensors.fetch_sub(1);
  return t;
}

struct SoftParams {
  int64_t H = 16, W = 16;
  double sigma = 1e-3, gamma = 1e-2, eps_bg = 1e-3, dist_eps = 1e-4;
  double znear = 0.5, zfar = 10.0;
  bool double_side = false;
  std::vector<double> background;
  bool simd = true;  // AVX2 when the CPU has it; false: the portable path
};

inline at::Tensor soft(const at::Tensor& fv, const at::Tensor& colors, const SoftParams& p) {
  Handle hf(fv);
  std::unique_ptr<Handle> hc;
  if (colors.defined()) hc.reset(new Handle(colors));
  rc_tensor* out[1] = {nullptr};
  int rc = rc_raster_soft(hf.h, hc ? hc->h : nullptr, p.H, p.W, p.sigma, p.gamma, p.eps_bg,
                          p.dist_eps, p.znear, p.zfar, p.double_side ? 1 : 0,
                          p.background.empty() ? nullptr : p.background.data(),
                          p.simd ? 1 : 0, out);
  if (rc != RC_OK) throw std::runtime_error(rc_error_message());
  return take(out[0]);
}

struct TopKParams {
  int64_t H = 16, W = 16, K = 4;
  double blur = 0.0, znear = 0.1;
  bool persp = false, cull = false;
  bool simd = true;  // AVX2 when the CPU has it; false: the portable path
};

struct Frags {
  at::Tensor p2f, bary, zbuf, dists, overflow;
};

inline Frags topk(const at::Tensor& verts, const at::Tensor& faces, const TopKParams& p) {
  Handle hv(verts), hf(faces);
  rc_tensor* out[5] = {};
  int rc = rc_raster_topk(hv.h, hf.h, p.H, p.W, p.K, p.blur, p.persp ? 1 : 0, p.cull ? 1 : 0,
                          p.znear, p.simd ? 1 : 0, out);
  if (rc != RC_OK) throw std::runtime_error(rc_error_message());
  return {take(out[0]), take(out[1]), take(out[2]), take(out[3]), take(out[4])};
}

struct LayeredParams {
  TopKParams topk;
  double sigma = 1e-3;
  std::vector<double> background;
};

// rc_raster_layered: {rgb (N,C,H,W), alpha (N,1,H,W)}.
inline std::pair<at::Tensor, at::Tensor> layered(const at::Tensor& verts, const at::Tensor& faces,
                                                 const at::Tensor& face_uvs, const at::Tensor& tex,
                                                 const LayeredParams& p) {
  Handle hv(verts), hf(faces), hu(face_uvs), ht(tex);
  rc_tensor* out[2] = {};
  const TopKParams& t = p.topk;
  int rc = rc_raster_layered(hv.h, hf.h, hu.h, ht.h, t.H, t.W, t.K, t.blur, p.sigma,
                             t.persp ? 1 : 0, t.cull ? 1 : 0, t.znear,
                             p.background.empty() ? nullptr : p.background.data(),
                             t.simd ? 1 : 0, out);
  if (rc != RC_OK) throw std::runtime_error(rc_error_message());
  return {take(out[0]), take(out[1])};
}

// ------------------------------------------------------------------ meshes

// Random triangles: centres in [-1.1, 1.1]^2 (some partly off-screen), sizes `lo..hi` NDC,
// depths in [zlo, zhi]. Returns (N,F,3,3) float64.
inline at::Tensor random_face_vertices(int64_t N, int64_t F, uint32_t seed, double lo = 0.1,
                                       double hi = 0.6, double zlo = 1.5, double zhi = 4.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  at::Tensor t = at::empty({N, F, 3, 3}, at::kDouble);
  double* p = t.data_ptr<double>();
  for (int64_t n = 0; n < N * F; ++n) {
    double cx = -1.1 + 2.2 * u(rng), cy = -1.1 + 2.2 * u(rng);
    double s = lo + (hi - lo) * u(rng);
    for (int v = 0; v < 3; ++v) {
      p[n * 9 + v * 3 + 0] = cx + s * (u(rng) - 0.5);
      p[n * 9 + v * 3 + 1] = cy + s * (u(rng) - 0.5);
      p[n * 9 + v * 3 + 2] = zlo + (zhi - zlo) * u(rng);
    }
  }
  return t;
}

inline at::Tensor random_colors(int64_t N, int64_t F, int64_t C, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  at::Tensor t = at::empty({N, F, 3, C}, at::kDouble);
  double* p = t.data_ptr<double>();
  for (int64_t k = 0; k < t.numel(); ++k) p[k] = u(rng);
  return t;
}

// Icosphere (level 0 = icosahedron), unit radius, outward counter-clockwise faces.
inline void icosphere(int level, std::vector<std::array<double, 3>>& V,
                      std::vector<std::array<int64_t, 3>>& F) {
  const double t = (1.0 + std::sqrt(5.0)) / 2.0;
  V = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0}, {0, -1, t}, {0, 1, t},
       {0, -1, -t}, {0, 1, -t}, {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
  F = {{0, 11, 5}, {0, 5, 1}, {0, 1, 7}, {0, 7, 10}, {0, 10, 11}, {1, 5, 9}, {5, 11, 4},
       {11, 10, 2}, {10, 7, 6}, {7, 1, 8}, {3, 9, 4}, {3, 4, 2}, {3, 2, 6}, {3, 6, 8},
       {3, 8, 9}, {4, 9, 5}, {2, 4, 11}, {6, 2, 10}, {8, 6, 7}, {9, 8, 1}};
  auto norm = [](std::array<double, 3> a) {
    double l = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    return std::array<double, 3>{a[0] / l, a[1] / l, a[2] / l};
  };
  for (auto& v : V) v = norm(v);
  for (int l = 0; l < level; ++l) {
    std::map<std::pair<int64_t, int64_t>, int64_t> mid;
    auto midpoint = [&](int64_t a, int64_t b) {
      auto key = std::make_pair(std::min(a, b), std::max(a, b));
      auto it = mid.find(key);
      if (it != mid.end()) return it->second;
      std::array<double, 3> m{(V[a][0] + V[b][0]) / 2, (V[a][1] + V[b][1]) / 2,
                              (V[a][2] + V[b][2]) / 2};
      V.push_back(norm(m));
      int64_t id = static_cast<int64_t>(V.size()) - 1;
      mid[key] = id;
      return id;
    };
    std::vector<std::array<int64_t, 3>> nf;
    for (auto& f : F) {
      int64_t a = midpoint(f[0], f[1]), b = midpoint(f[1], f[2]), c = midpoint(f[2], f[0]);
      nf.push_back({f[0], a, c});
      nf.push_back({f[1], b, a});
      nf.push_back({f[2], c, b});
      nf.push_back({a, b, c});
    }
    F = nf;
  }
}

// N ellipsoids (icosphere scaled by `scale`) at random rotations, seen by a perspective
// camera at `dist` with full field of view `fov_deg`; x right, y down, z forward.
// Returns projected verts (N,V,3) float64 [x_ndc, y_ndc, z] and faces (F,3) int64.
inline std::pair<at::Tensor, at::Tensor> projected_ellipsoids(int64_t N, int level,
                                                              std::array<double, 3> scale,
                                                              double dist, double fov_deg,
                                                              uint32_t seed) {
  std::vector<std::array<double, 3>> V;
  std::vector<std::array<int64_t, 3>> F;
  icosphere(level, V, F);
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  const double tanh = std::tan(fov_deg * M_PI / 360.0);
  at::Tensor verts = at::empty({N, (int64_t)V.size(), 3}, at::kDouble);
  double* pv = verts.data_ptr<double>();
  for (int64_t n = 0; n < N; ++n) {
    // random rotation from a random unit quaternion
    double q[4] = {g(rng), g(rng), g(rng), g(rng)};
    double ql = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (double& c : q) c /= ql;
    double w = q[0], x = q[1], y = q[2], z = q[3];
    double R[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
                      {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
                      {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}};
    for (size_t i = 0; i < V.size(); ++i) {
      double s[3] = {V[i][0] * scale[0], V[i][1] * scale[1], V[i][2] * scale[2]};
      double c[3];
      for (int r = 0; r < 3; ++r) c[r] = R[r][0] * s[0] + R[r][1] * s[1] + R[r][2] * s[2];
      double zc = c[2] + dist;
      double* o = pv + (n * (int64_t)V.size() + (int64_t)i) * 3;
      o[0] = c[0] / (zc * tanh);
      o[1] = c[1] / (zc * tanh);
      o[2] = zc;
    }
  }
  at::Tensor faces = at::empty({(int64_t)F.size(), 3}, at::kLong);
  int64_t* pf = faces.data_ptr<int64_t>();
  for (size_t f = 0; f < F.size(); ++f)
    for (int k = 0; k < 3; ++k) pf[f * 3 + k] = F[f][k];
  return {verts, faces};
}

// (N,V,3) + (F,3) -> (N,F,3,3)
inline at::Tensor gather_faces(const at::Tensor& verts, const at::Tensor& faces) {
  return verts.index_select(1, faces.reshape({-1})).reshape({verts.size(0), faces.size(0), 3, 3});
}

// ------------------------------------------------------------------ references

inline double px_centre(int64_t k, int64_t n) { return (2.0 * k + 1.0) / n - 1.0; }

// Squared distance from p to segment ab by explicit projection.
inline double seg_dist2(double px, double py, double ax, double ay, double bx, double by) {
  double vx = bx - ax, vy = by - ay, l2 = vx * vx + vy * vy;
  double t = l2 > 1e-20 ? ((px - ax) * vx + (py - ay) * vy) / l2 : 0.0;
  t = std::max(0.0, std::min(1.0, t));
  double qx = ax + t * vx - px, qy = ay + t * vy - py;
  return qx * qx + qy * qy;
}

// Barycentrics by solving the 2x2 system p = v2 + l0 (v0 - v2) + l1 (v1 - v2) (Cramer).
inline bool ref_bary(const double* v, double px, double py, double w[3]) {
  double a = v[0] - v[6], b = v[3] - v[6], c = v[1] - v[7], d = v[4] - v[7];
  double det = a * d - b * c;
  if (std::abs(det) <= 1e-10) return false;
  double rx = px - v[6], ry = py - v[7];
  w[0] = (d * rx - b * ry) / det;
  w[1] = (-c * rx + a * ry) / det;
  w[2] = 1.0 - w[0] - w[1];
  return true;
}

struct RefPair {
  bool inside;
  double d2;
  bool has_bary;
  double w[3];
};

inline RefPair ref_pair(const double* v, double px, double py) {
  RefPair r;
  r.d2 = std::min({seg_dist2(px, py, v[0], v[1], v[3], v[4]),
                   seg_dist2(px, py, v[3], v[4], v[6], v[7]),
                   seg_dist2(px, py, v[6], v[7], v[0], v[1])});
  r.has_bary = ref_bary(v, px, py, r.w);
  r.inside = r.has_bary && r.w[0] > 0 && r.w[1] > 0 && r.w[2] > 0;
  return r;
}

inline bool ref_face_ok(const double* v, double znear) {
  for (int k = 0; k < 9; ++k)
    if (!std::isfinite(v[k])) return false;
  return v[2] > znear && v[5] > znear && v[8] > znear;
}

// Dense SoftRas reference: fv (N,F,3,3), colors (N,F,3,C) or undefined. Returns (N,C+1,H,W).
inline at::Tensor ref_soft(const at::Tensor& fv_in, const at::Tensor& col_in,
                           const SoftParams& p) {
  at::Tensor fv = fv_in.to(at::kDouble).contiguous();
  at::Tensor col = col_in.defined() ? col_in.to(at::kDouble).contiguous() : at::Tensor();
  const int64_t N = fv.size(0), F = fv.size(1), C = col.defined() ? col.size(3) : 0;
  const int64_t H = p.H, W = p.W;
  at::Tensor out = at::zeros({N, C + 1, H, W}, at::kDouble);
  const double thr = std::log(1.0 / p.dist_eps - 1.0) * p.sigma;
  const double* pf = fv.data_ptr<double>();
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const double px = px_centre(j, W), py = px_centre(i, H);
        double T = 1;
        struct Term { double D, zbar; std::vector<double> c; };
        std::vector<Term> terms;
        for (int64_t f = 0; f < F; ++f) {
          const double* v = pf + (n * F + f) * 9;
          if (!ref_face_ok(v, p.znear)) continue;
          RefPair r = ref_pair(v, px, py);
          if (!r.inside && r.d2 >= thr) continue;
          double x = (r.inside ? r.d2 : -r.d2) / p.sigma;
          double D = 1.0 / (1.0 + std::exp(-x));
          T *= 1.0 - D;
          if (C == 0 || !r.has_bary) continue;
          double area2 = (v[3] - v[0]) * (v[7] - v[1]) - (v[4] - v[1]) * (v[6] - v[0]);
          if (!(area2 < 0) && !p.double_side) continue;
          double wc[3], s = 0;
          for (int k = 0; k < 3; ++k) s += (wc[k] = std::max(0.0, std::min(1.0, r.w[k])));
          double inv = 0;
          for (int k = 0; k < 3; ++k) inv += wc[k] / s / v[k * 3 + 2];
          double zp = 1.0 / inv;
          if (zp < p.znear || zp > p.zfar) continue;
          Term t{D, (p.zfar - zp) / (p.zfar - p.znear), std::vector<double>(C)};
          const double* cf = col.data_ptr<double>() + (n * F + f) * 3 * C;
          for (int64_t c = 0; c < C; ++c)
            for (int k = 0; k < 3; ++k) t.c[c] += wc[k] / s * cf[k * C + c];
          terms.push_back(t);
        }
        const int64_t q = i * W + j;
        po[(n * (C + 1) + C) * H * W + q] = 1.0 - T;
        if (C == 0) continue;
        double m = p.eps_bg;
        for (auto& t : terms) m = std::max(m, t.zbar);
        double wbg = std::exp((p.eps_bg - m) / p.gamma), S = wbg;
        std::vector<double> acc(C);
        for (int64_t c = 0; c < C; ++c)
          acc[c] = wbg * (p.background.empty() ? 0.0 : p.background[c]);
        for (auto& t : terms) {
          double w = t.D * std::exp((t.zbar - m) / p.gamma);
          S += w;
          for (int64_t c = 0; c < C; ++c) acc[c] += w * t.c[c];
        }
        for (int64_t c = 0; c < C; ++c) po[(n * (C + 1) + c) * H * W + q] = acc[c] / S;
      }
  return out;
}

// Hard z-buffer coverage: 1 where the pixel centre is strictly inside some kept face.
inline at::Tensor ref_coverage(const at::Tensor& fv_in, int64_t H, int64_t W, double znear) {
  at::Tensor fv = fv_in.to(at::kDouble).contiguous();
  const int64_t N = fv.size(0), F = fv.size(1);
  at::Tensor out = at::zeros({N, 1, H, W}, at::kDouble);
  const double* pf = fv.data_ptr<double>();
  double* po = out.data_ptr<double>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j)
        for (int64_t f = 0; f < F; ++f) {
          const double* v = pf + (n * F + f) * 9;
          if (!ref_face_ok(v, znear)) continue;
          RefPair r = ref_pair(v, px_centre(j, W), px_centre(i, H));
          if (r.inside) po[(n * H + i) * W + j] = 1.0;
        }
  return out;
}

// Brute-force top-K: every pixel against every face, full sort by (z, face).
inline Frags ref_topk(const at::Tensor& verts_in, const at::Tensor& faces_in,
                      const TopKParams& p) {
  at::Tensor verts = verts_in.to(at::kDouble).contiguous();
  at::Tensor faces = faces_in.contiguous();
  const int64_t N = verts.size(0), V = verts.size(1), F = faces.size(0);
  const int64_t H = p.H, W = p.W, K = p.K;
  Frags r;
  r.p2f = at::full({N, H, W, K}, -1, at::kLong);
  r.bary = at::full({N, H, W, K, 3}, -1.0, at::kDouble);
  r.zbuf = at::full({N, H, W, K}, -1.0, at::kDouble);
  r.dists = at::full({N, H, W, K}, -1.0, at::kDouble);
  r.overflow = at::zeros({N}, at::kLong);
  const int64_t* pf = faces.data_ptr<int64_t>();
  for (int64_t n = 0; n < N; ++n) {
    const double* pv = verts.data_ptr<double>() + n * V * 3;
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const double px = px_centre(j, W), py = px_centre(i, H);
        struct Cand { double z; int64_t f; double b[3]; double dist; };
        std::vector<Cand> c;
        for (int64_t f = 0; f < F; ++f) {
          double v[9];
          for (int k = 0; k < 3; ++k)
            for (int d = 0; d < 3; ++d) v[k * 3 + d] = pv[pf[f * 3 + k] * 3 + d];
          if (!ref_face_ok(v, p.znear)) continue;
          double area2 = (v[3] - v[0]) * (v[7] - v[1]) - (v[4] - v[1]) * (v[6] - v[0]);
          if (std::abs(area2) <= 1e-10) continue;
          if (p.cull && area2 > 0) continue;
          RefPair rp = ref_pair(v, px, py);
          if (!rp.inside && !(rp.d2 < p.blur)) continue;
          Cand cd;
          cd.f = f;
          // with a blur radius, barycentrics clamped to >= 0 and renormalised (PyTorch3D's
          // clip_barycentric_coords): depth and barycentrics of a point on the face
          double w[3] = {rp.w[0], rp.w[1], rp.w[2]};
          if (p.blur > 0 && (w[0] < 0 || w[1] < 0 || w[2] < 0)) {
            double sum = 0;
            for (int k = 0; k < 3; ++k) sum += (w[k] = std::max(w[k], 0.0));
            for (int k = 0; k < 3; ++k) w[k] /= sum;
          }
          if (p.persp) {
            double u = 0, q[3];
            for (int k = 0; k < 3; ++k) u += (q[k] = w[k] / v[k * 3 + 2]);
            if (!(u > 1e-12)) continue;
            cd.z = 1.0 / u;
            for (int k = 0; k < 3; ++k) cd.b[k] = q[k] / u;
          } else {
            cd.z = 0;
            for (int k = 0; k < 3; ++k) {
              cd.b[k] = w[k];
              cd.z += w[k] * v[k * 3 + 2];
            }
          }
          if (!(cd.z > p.znear)) continue;
          cd.dist = rp.inside ? -rp.d2 : rp.d2;
          c.push_back(cd);
        }
        std::sort(c.begin(), c.end(), [](const Cand& a, const Cand& b) {
          return a.z < b.z || (a.z == b.z && a.f < b.f);
        });
        if ((int64_t)c.size() > K) r.overflow.data_ptr<int64_t>()[n] += 1;
        for (int64_t k = 0; k < std::min<int64_t>(K, c.size()); ++k) {
          int64_t s = ((n * H + i) * W + j) * K + k;
          r.p2f.data_ptr<int64_t>()[s] = c[k].f;
          for (int d = 0; d < 3; ++d) r.bary.data_ptr<double>()[s * 3 + d] = c[k].b[d];
          r.zbuf.data_ptr<double>()[s] = c[k].z;
          r.dists.data_ptr<double>()[s] = c[k].dist;
        }
      }
  }
  return r;
}

inline bool all_finite(const at::Tensor& t) {
  return !t.defined() || t.numel() == 0 || at::isfinite(t).all().item<bool>();
}

inline bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  at::Tensor ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.numel() * ac.element_size()) == 0;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Restores the thread count and SIMD mode a test changed.
struct ThreadGuard {
  int saved = at::get_num_threads();
  ~ThreadGuard() { at::set_num_threads(saved); }
};

// Runs `run(b0, n)` (outputs of images [b0, b0+n) of a 5-image batch) with 2 threads and with
// 1, and image by image: all must agree bit for bit.
template <typename Run>
inline void expect_batch_and_threads_bitwise(Run run) {
  at::set_num_threads(2);
  auto two = run(0, 5);
  at::set_num_threads(1);
  auto one = run(0, 5);
  for (size_t k = 0; k < two.size(); ++k) EXPECT_TRUE(bitwise_equal(two[k], one[k])) << "output " << k;
  for (int64_t b = 0; b < 5; ++b) {
    auto single = run(b, 1);
    for (size_t k = 0; k < two.size(); ++k)
      EXPECT_TRUE(bitwise_equal(two[k].narrow(0, b, 1), single[k])) << "image " << b;
  }
}

// One image's mesh (1,V,3) f64 / (F,3) with every kind of trouble: a collinear face, a vertex
// used three times, faces behind the camera and across the near plane (z = 0.05), off-screen,
// one normal face, and a huge far face covering the whole image.
inline std::pair<at::Tensor, at::Tensor> troublesome_mesh() {
  std::vector<std::array<double, 3>> V = {
      {-0.5, -0.5, 2}, {0.0, 0.0, 2}, {0.5, 0.5, 2},      // collinear
      {0.1, 0.2, 2},                                       // used three times
      {-0.5, -0.5, -2}, {0.5, -0.5, -2}, {0.0, 0.5, -2},   // behind the camera
      {-0.6, -0.6, 0.05}, {0.6, -0.5, 3}, {0.0, 0.7, 3},   // crosses the near plane
      {5, 5, 2}, {6, 5, 2}, {5, 6, 2},                     // off-screen
      {-0.2, -0.2, 2}, {0.3, -0.1, 2.5}, {0.0, 0.4, 3},    // normal
      {-1e6, -1e6, 50}, {1e6, -1e6, 50}, {0.0, 1e6, 50},   // covers everything, far
  };
  std::vector<int64_t> F = {0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  at::Tensor verts = at::empty({1, (int64_t)V.size(), 3}, at::kDouble);
  for (size_t k = 0; k < V.size(); ++k)
    for (int d = 0; d < 3; ++d) verts.data_ptr<double>()[k * 3 + d] = V[k][d];
  return {verts, at::tensor(F, at::kLong).reshape({-1, 3})};
}

}  // namespace rt
