// Error storage shared by every entry point, and the handle bookkeeping.
#include <sstream>
#include "tensor_handle.h"

namespace {
// One message per thread: the caller reads it right after the failing call on the same thread.
thread_local std::string last_error;
}

namespace rc {
std::atomic<int64_t> live_tensors{0};

void set_error(const std::string& message) { last_error = message; }

void set_error(const char* what, const std::string& detail) {
  last_error = std::string(what) + ": " + detail;
}

std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  auto dtype = t.scalar_type();
  switch (dtype) {
    case at::kFloat: s << "float32"; break;
    case at::kDouble: s << "float64"; break;
    case at::kLong: s << "int64"; break;
    case at::kInt: s << "int32"; break;
    case at::kBool: s << "bool"; break;
    case at::kByte: s << "uint8"; break;
    default: s << c10::toString(dtype); break;
  }
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
  s << "]";
  return s.str();
}
}  // namespace rc

extern "C" {
RC_API const char* rc_error_message(void) { return last_error.c_str(); }
RC_API void rc_error_clear(void) { last_error.clear(); }
}
