#include "rc_generator.h"
#include "generator_handle.h"
#include "tensor_handle.h"

extern "C" {
RC_API rc_generator* rc_generator_new(uint64_t seed) {
  RC_GUARD("rc_generator_new", nullptr, { return new rc_generator{at::make_generator<at::CPUGeneratorImpl>(seed)}; })
}

RC_API void rc_generator_free(rc_generator* g) { delete g; }

RC_API rc_tensor* rc_generator_get_state(const rc_generator* g) {
  RC_GUARD("rc_generator_get_state", nullptr, {
    if (!g) throw std::invalid_argument("null generator");
    return rc::wrap(g->g.get_state());
  })
}

RC_API int32_t rc_generator_set_state(rc_generator* g, const rc_tensor* state) {
  RC_GUARD("rc_generator_set_state", RC_ERROR, {
    if (!g) throw std::invalid_argument("null generator");
    const auto& s = rc::unwrap(state, "rc_generator_set_state");
    if (s.scalar_type() != at::kByte || s.dim() != 1)
      throw std::invalid_argument("state must be a uint8 vector, received " + rc::describe(s));
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_state(s);
    return RC_OK;
  })
}
}
