// Input checks shared by the kernel bindings. A failed check throws std::invalid_argument;
// RC_GUARD turns it into the stored message, prefixed with the op's name, so messages here
// start with the argument.
#pragma once
#include <ATen/ATen.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tensor_handle.h"

namespace rc {
namespace binding {

[[noreturn]] inline void fail(const std::string& msg) { throw std::invalid_argument(msg); }

inline void check_float_cpu(const char* name, const at::Tensor& t) {
  if (t.device().type() != at::kCPU)
    fail(std::string(name) + " must be a CPU tensor, received " + rc::describe(t) + " on " +
         t.device().str());
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
    fail(std::string(name) + " must be float32 or float64, received " + rc::describe(t));
}

inline std::string num(double v) {
  // .NET's NaN has its sign bit set, which iostreams print as "-nan"
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace binding
}  // namespace rc
