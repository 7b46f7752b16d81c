#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <dlfcn.h>
#include <thread>
#include <torch/version.h>
#include "rc_runtime.h"
#include "tensor_handle.h"

namespace {
thread_local std::string info_text;

// "CPU capability usage: AVX2" in ATen's build summary is what its kernels dispatch to.
std::string simd_level() {
  auto config = at::show_config();
  const std::string key = "CPU capability usage: ";
  auto at = config.find(key);
  if (at == std::string::npos) return "unknown";
  auto end = config.find('\n', at);
  return config.substr(at + key.size(), end - at - key.size());
}

// Debian's libtorch links the generic libblas.so.3; which implementation answers depends on
// the alternatives system, so ask the loader where sgemm_ really lives.
std::string blas_library() {
  void* sym = dlsym(RTLD_DEFAULT, "sgemm_");
  if (!sym) return "none";
  Dl_info info;
  if (dladdr(sym, &info) == 0 || !info.dli_fname) return "unknown";
  char resolved[4096];
  if (realpath(info.dli_fname, resolved)) return resolved;
  return info.dli_fname;
}
// OpenBLAS (Debian's default libblas.so.3) runs its own pthread pool beside libtorch's OpenMP
// one, sized to the cores and spinning between calls: a UNICORN run limited to 1 thread kept
// an OpenBLAS worker busy too (18% of a core on average, up to half), so two such runs on 2
// cores starved each other. Its size follows ours when the loaded BLAS is OpenBLAS; another
// BLAS is left as it is.
void set_blas_threads(int32_t n) {
  using setter = void (*)(int);
  if (auto set = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
}

int32_t blas_threads() {
  using getter = int (*)();
  auto get = reinterpret_cast<getter>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}
}  // namespace

extern "C" {
RC_API int32_t rc_runtime_set_threads(int32_t n) {
  RC_GUARD("set_threads", RC_ERROR, {
    if (n < 1) throw std::invalid_argument("thread count must be >= 1, received " + std::to_string(n));
    at::set_num_threads(n);
    set_blas_threads(n);
    return RC_OK;
  })
}

RC_API int32_t rc_runtime_threads(void) { return at::get_num_threads(); }

RC_API const char* rc_runtime_info(void) {
  RC_GUARD("runtime_info", nullptr, {
    info_text = std::string("{\"libtorch\":\"") + TORCH_VERSION + "\",\"threads\":" +
                std::to_string(at::get_num_threads()) + ",\"cores\":" +
                std::to_string(std::thread::hardware_concurrency()) + ",\"simd\":\"" + simd_level() +
                "\",\"blas\":\"" + blas_library() + "\",\"blas_threads\":" +
                std::to_string(blas_threads()) + ",\"parallel\":\"" +
#if AT_PARALLEL_OPENMP
                "OpenMP"
#else
                "native"
#endif
                + "\"}";
    return info_text.c_str();
  })
}
}
