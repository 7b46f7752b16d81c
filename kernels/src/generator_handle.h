// Internal: a seeded CPU random generator behind an opaque pointer.
#pragma once
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

struct rc_generator {
  at::Generator g;
};
