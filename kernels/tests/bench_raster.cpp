// rc_raster_bench: timings of the two raster ops on the SoftRas reconstruction workload.
//   SoftRas silhouettes: 256 images 64x64, icosphere level 3 (642 verts, 1280 faces) scaled to
//   an ellipsoid 0.4*[1, 0.7, 0.7], random poses, camera distance 2.732, fov 30 degrees,
//   sigma 1e-4, dist_eps 1e-10.  Targets (2 threads): forward <= 40 ms, backward <= 80 ms.
//   Top-K: K=8, 192 images 64x64, same mesh, blur = ln(1/1e-4 - 1) * 1e-4, forward+backward.
// Prints the median of several runs for 1 and 2 threads, AVX2 and the portable path.
//   Hard textured (dataset renders): 192 images 64x64 at supersample 2, same mesh, a 3x136x128
//   atlas, two-sided light, forward only; also with the icosphere at level 5 (20480 faces).
// Usage: rc_raster_bench [repeats] [soft|topk|layered|hard] [images, default 256 (192 for top-K)]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "raster_test_util.h"

using namespace rt;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Process CPU time: on a shared, loaded machine wall time mostly measures the neighbours;
// CPU time / threads is what the kernels would take on idle cores.
double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

struct Timer {
  Clock::time_point w0 = Clock::now();
  double c0 = cpu_ms();
  double wall() const { return ms_since(w0); }
  double cpu() const { return cpu_ms() - c0; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void bench_soft(const at::Tensor& fv, int repeats, bool simd, const char* label) {
  SoftParams p;
  p.simd = simd;
  p.H = p.W = 64;
  p.sigma = 1e-4;
  p.gamma = 1e-4;
  p.dist_eps = 1e-10;
  p.znear = 1.0;
  p.zfar = 100.0;
  std::vector<double> tf, tb, cf, cb;
  at::Tensor g = at::rand({fv.size(0), 1, 64, 64});
  for (int r = 0; r < repeats + 1; ++r) {
    at::Tensor x = fv.detach().clone().set_requires_grad(true);
    Timer t;
    at::Tensor img = soft(x, at::Tensor(), p);
    double f = t.wall(), fc = t.cpu();
    Timer t2;
    img.backward(g);
    double b = t2.wall(), bc = t2.cpu();
    if (r > 0) {  // the first run pays for allocation and page faults
      tf.push_back(f);
      tb.push_back(b);
      cf.push_back(fc);
      cb.push_back(bc);
    }
  }
  std::printf("  soft silhouette %-24s threads=%d  forward %7.2f ms (cpu %7.2f)  backward %7.2f ms"
              " (cpu %7.2f)\n", label, at::get_num_threads(), median(tf), median(cf), median(tb),
              median(cb));
}

void bench_topk(const at::Tensor& verts, const at::Tensor& faces, int repeats, const char* label) {
  TopKParams p;
  p.H = p.W = 64;
  p.K = 8;
  p.blur = std::log(1.0 / 1e-4 - 1.0) * 1e-4;
  p.persp = true;
  p.znear = 1.0;
  std::vector<double> tf, tb, cf, cb;
  int64_t overflow = 0, slots = 0;
  for (int r = 0; r < repeats + 1; ++r) {
    at::Tensor x = verts.detach().clone().set_requires_grad(true);
    Timer t;
    Frags fr = topk(x, faces, p);
    double f = t.wall(), fc = t.cpu();
    // upstream gradients as a blend would send them
    at::Tensor gb = at::ones_like(fr.bary), gz = at::ones_like(fr.zbuf), gd = at::ones_like(fr.dists);
    Timer t2;
    torch::autograd::backward({fr.bary, fr.zbuf, fr.dists}, {gb, gz, gd});
    double b = t2.wall(), bc = t2.cpu();
    if (r > 0) {
      tf.push_back(f);
      tb.push_back(b);
      cf.push_back(fc);
      cb.push_back(bc);
    }
    overflow = fr.overflow.sum().item<int64_t>();
    slots = fr.p2f.ge(0).sum().item<int64_t>();
  }
  std::printf("  top-K K=8 %-30s threads=%d  forward %7.2f ms (cpu %7.2f)  backward %7.2f ms"
              " (cpu %7.2f)  [filled slots %lld, overflow pixels %lld]\n",
              label, at::get_num_threads(), median(tf), median(cf), median(tb), median(cb),
              (long long)slots, (long long)overflow);
}

// UNICORN's textured render through the fused kernel: K=8, sigma 1e-4, 64x64 UV images,
// random UVs; forward, then backward of random upstream gradients for rgb and alpha.
void bench_layered(const at::Tensor& verts, const at::Tensor& faces, int repeats, const char* label) {
  LayeredParams p;
  p.topk.H = p.topk.W = 64;
  p.topk.K = 8;
  p.topk.blur = std::log(1.0 / 1e-4 - 1.0) * 1e-4;
  p.topk.persp = false;
  p.topk.znear = 0.1;
  p.sigma = 1e-4;
  p.background = {1.0, 1.0, 1.0};
  const int64_t N = verts.size(0);
  at::Tensor uv = at::rand({verts.size(1), 2});
  at::Tensor face_uvs = uv.index_select(0, faces.flatten()).reshape({faces.size(0), 3, 2});
  at::Tensor tex = at::rand({N, 3, 64, 64});
  at::Tensor gr = at::rand({N, 3, 64, 64}), ga = at::rand({N, 1, 64, 64});
  std::vector<double> tf, tb, cf, cb;
  for (int r = 0; r < repeats + 1; ++r) {
    at::Tensor x = verts.detach().clone().set_requires_grad(true);
    at::Tensor t = tex.detach().clone().set_requires_grad(true);
    Timer t1;
    auto out = layered(x, faces, face_uvs, t, p);
    double f = t1.wall(), fc = t1.cpu();
    Timer t2;
    torch::autograd::backward({out.first, out.second}, {gr, ga});
    double b = t2.wall(), bc = t2.cpu();
    if (r > 0) {
      tf.push_back(f);
      tb.push_back(b);
      cf.push_back(fc);
      cb.push_back(bc);
    }
  }
  std::printf("  layered K=8 %-28s threads=%d  forward %7.2f ms (cpu %7.2f)  backward %7.2f ms"
              " (cpu %7.2f)\n", label, at::get_num_threads(), median(tf), median(cf), median(tb),
              median(cb));
}

// The dataset render through rc_raster_hard_textured: 64x64 output at supersample 2 (128x128
// subpixels), random UVs into a 3x136x128 atlas (a procedural chair's), white background.
void bench_hard(const at::Tensor& verts, const at::Tensor& faces, int repeats, const char* label) {
  const int64_t N = verts.size(0);
  const double t = std::tan(30.0 * M_PI / 360.0);
  at::Tensor z = verts.select(2, 2);
  at::Tensor points = at::stack({verts.select(2, 0) * z * t, verts.select(2, 1) * z * t, z}, 2);
  at::Tensor uv = at::rand({verts.size(1), 2});
  at::Tensor face_uvs = uv.index_select(0, faces.flatten()).reshape({faces.size(0), 3, 2});
  at::Tensor atlas = at::rand({3, 136, 128});
  at::Tensor bg = at::ones({N, 3, 64, 64});
  const double light[3] = {-0.4, -0.6, -1.0};
  Handle hv(verts), hp(points), hf(faces), hu(face_uvs), ht(atlas), hb(bg);
  std::vector<double> tf, cf;
  for (int r = 0; r < repeats + 1; ++r) {
    rc_tensor* out[2] = {};
    Timer t1;
    if (rc_raster_hard_textured(hv.h, hp.h, hf.h, hu.h, ht.h, hb.h, 2, 0.1, 0.45, 0.55, light, 1, 1,
                                out) != RC_OK)
      throw std::runtime_error(rc_error_message());
    double f = t1.wall(), fc = t1.cpu();
    take(out[0]);
    take(out[1]);
    if (r > 0) {
      tf.push_back(f);
      cf.push_back(fc);
    }
  }
  std::printf("  hard textured s=2 %-22s threads=%d  forward %7.2f ms (cpu %7.2f)\n", label,
              at::get_num_threads(), median(tf), median(cf));
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 7;
  const std::string only = argc > 2 ? argv[2] : "";  // "soft", "topk", "layered" or "hard"
  // a smaller batch (third argument) keeps profiling under valgrind short
  const int64_t images = argc > 3 ? std::atoi(argv[3]) : 256;
  auto [v256, faces] = projected_ellipsoids(images, 3, {0.4, 0.28, 0.28}, 2.732, 30.0, 1);
  at::Tensor fv = gather_faces(v256, faces).to(at::kFloat).contiguous();
  at::Tensor v192 = v256.narrow(0, 0, images * 3 / 4).to(at::kFloat).contiguous();
  std::printf("mesh: %lld verts, %lld faces; AVX2 available: %d\n", (long long)v256.size(1),
              (long long)faces.size(0), rc_raster_simd_available());
  const int saved = at::get_num_threads();
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    if (only.empty() || only == "soft") {
      bench_soft(fv, repeats, true, "(256x64x64, AVX2)");
      bench_soft(fv, std::max(1, repeats / 3), false, "(256x64x64, portable)");
    }
    if (only.empty() || only == "topk") bench_topk(v192, faces, repeats, "(192x64x64, float32)");
    if (only.empty() || only == "layered") bench_layered(v192, faces, repeats, "(192x64x64, float32)");
    if (only.empty() || only == "hard") {
      bench_hard(v192, faces, repeats, "(192x64x64, float32)");
      // real models are dense: most faces fall between subpixel centres
      auto [vd, fd] = projected_ellipsoids(images * 3 / 4, 5, {0.4, 0.28, 0.28}, 2.732, 30.0, 1);
      bench_hard(vd.to(at::kFloat).contiguous(), fd, repeats, "(20480 faces)");
    }
  }
  at::set_num_threads(saved);
  return 0;
}
