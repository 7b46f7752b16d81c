#include <chrono>
#include <torch/torch.h>
#include "rc_bench.h"
#include "tensor_handle.h"

namespace {
using Clock = std::chrono::steady_clock;

// Must stay the same model as the F# side of the benchmark (Bench.fs, trainStepModel):
// 4 conv layers 3->16->32->64->128, kernel 3, stride 2, padding 1, ReLU; global average pool;
// MLP 128->128->10 with ReLU between; MSE against a random target.
struct EncoderImpl : torch::nn::Module {
  torch::nn::Conv2d c1{nullptr}, c2{nullptr}, c3{nullptr}, c4{nullptr};
  torch::nn::Linear l1{nullptr}, l2{nullptr};
  EncoderImpl() {
    auto conv = [](int64_t i, int64_t o) {
      return torch::nn::Conv2d(torch::nn::Conv2dOptions(i, o, 3).stride(2).padding(1));
    };
    c1 = register_module("c1", conv(3, 16));
    c2 = register_module("c2", conv(16, 32));
    c3 = register_module("c3", conv(32, 64));
    c4 = register_module("c4", conv(64, 128));
    l1 = register_module("l1", torch::nn::Linear(128, 128));
    l2 = register_module("l2", torch::nn::Linear(128, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(c1(x));
    x = torch::relu(c2(x));
    x = torch::relu(c3(x));
    x = torch::relu(c4(x));
    x = x.mean({2, 3});
    return l2(torch::relu(l1(x)));
  }
};
TORCH_MODULE(Encoder);
}  // namespace

extern "C" {
RC_API double rc_bench_add_loop(int64_t iterations) {
  RC_GUARD("bench_add_loop", -1.0, {
    auto a = torch::ones({4});
    auto b = torch::ones({4});
    auto start = Clock::now();
    for (int64_t k = 0; k < iterations; ++k) {
      auto c = at::add(a, b);
    }
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / iterations;
  })
}

RC_API int32_t rc_bench_train_steps(int32_t batch, int32_t size, int32_t steps, uint64_t seed, double* step_ms) {
  RC_GUARD("bench_train_steps", RC_ERROR, {
    torch::manual_seed(seed);
    Encoder model;
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
    auto x = torch::rand({batch, 3, size, size});
    auto target = torch::rand({batch, 10});
    for (int32_t s = 0; s < steps; ++s) {
      auto start = Clock::now();
      opt.zero_grad();
      auto loss = torch::mse_loss(model->forward(x), target);
      loss.backward();
      opt.step();
      step_ms[s] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
    return RC_OK;
  })
}
}
