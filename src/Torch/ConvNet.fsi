/// A small conv encoder + MLP head written with the layers: the engine benchmark's model
/// (`TorchBench.trainStepRatio`, against its C++ twin in kernels/src/rc_bench.cpp; the two
/// must stay the same model) and the model of the long-running memory and determinism tests.
module Reconstruct.Torch.ConvNet

open Reconstruct.Torch.Layers

/// Convolutions, then the MLP head on their global average.
type Model = { Convs: Conv2d list; Head: Mlp }

/// Convs of kernel 3, stride 2, padding 1 through `channels` (from 3 input channels), ReLU,
/// global average pool, then an MLP `head` widths (first = last conv width), weights drawn
/// from `generator`.
val create: generator: Generator -> channels: int list -> head: int list -> Model

/// The benchmark's model: 3->16->32->64->128, MLP 128->128->10.
val benchmarkModel: generator: Generator -> Model

/// The named parameters: conv0.*, conv1.*, ..., head.*.
val parameters: model: Model -> Named

/// x: (B, 3, H, W) -> (B, head output), dtype of the weights.
val forward: model: Model -> x: Tensor -> Tensor

/// One optimisation step on an MSE loss inside its own disposal scope; returns the loss.
/// x: (B, 3, H, W); target: (B, head output).
val trainStep: model: Model -> optimizer: Optim.Optimizer -> x: Tensor -> target: Tensor -> float
