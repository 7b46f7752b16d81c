/// SSR's Siamese viewpoint network (Koch et al.'s one-shot network on RGB, peers.md §B.4): two
/// images go through the same convolutional trunk to 4096 sigmoid features f₁, f₂, and
/// `p = σ(FC(|f₁ − f₂|))` is the probability that they show the object from the same viewpoint.
/// It learns from the labelled objects' view ids and labels the unlabelled images' viewpoints.
module Reconstruct.Stages.SiamVP

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// Conv10 3→w, ReLU, max-pool 2; Conv7 w→2w, ReLU, max-pool 2; Conv4 2w→2w, ReLU; flatten
/// (2w·7·7 at 64 px: 6272 for SSR's w = 64); FC → 4096, sigmoid. `Out`: FC 4096 → 1 (a logit).
type Network =
    { Conv1: Conv2d
      Conv2: Conv2d
      Conv3: Conv2d
      Embed: Linear
      Out: Linear }

/// A network for imageSize² RGB images (64 in SSR; at least 46, where the last map is 1×1) of
/// width w (64 in SSR), PyTorch's default initialisation drawn from `generator` in layer order.
val create: generator: Generator -> imageSize: int -> width: int -> Network

/// "conv1.weight", "conv1.bias", …, "embed.weight", "embed.bias", "out.weight", "out.bias".
val parameters: network: Network -> Named

/// The network's input from the dataset's images: rgba (B, 4, S, S) float32 straight alpha ->
/// (B, 3, S, S) RGB premultiplied by alpha (the object on black, as SSR's renders, so that a
/// rotation's zero padding is background too).
val rgbOf: rgba: Tensor -> Tensor

/// images (B, 3, S, S) float32 -> features (B, 4096) in (0, 1).
val embed: network: Network -> images: Tensor -> Tensor

/// features a (*, 4096), b (*, 4096) (broadcast against each other) -> logits (*) of "the same
/// viewpoint": FC(|a − b|).
val compare: network: Network -> a: Tensor -> b: Tensor -> Tensor

/// The images rotated in-plane by `degrees` (counter-clockwise on screen) about their centre,
/// bilinear, corners aligned, zero outside. images (B, C, S, S) float -> (B, C, S, S).
val rotate: degrees: float -> images: Tensor -> Tensor

/// What one pair-loss evaluation measured.
type PairLoss =
    { /// scalar, differentiable in the network's parameters
      Loss: Tensor
      /// (share of positive pairs with p > 0.5 + share of negative pairs with p < 0.5) / 2;
      /// a batch without a positive or a negative pair counts that side as 0.
      Accuracy: float
      Positives: int
      Negatives: int }

/// SSR's hard-mined pair loss over every pair i < j of the batch, "positive" when the view ids
/// are equal: BCE(max negative p, 0)/m + mean BCE(m random negatives, 0) + BCE(min positive p,
/// 1)/m + mean BCE(m random positives, 1), the random pairs drawn with replacement from `rng`
/// (m = `samples`, 32 in SSR). A side without pairs adds nothing. images (B, 3, S, S), viewIds
/// of length B.
val pairLoss: network: Network -> rng: SplitMix64 -> samples: int -> images: Tensor -> viewIds: int[] -> PairLoss

/// The best match of every query among the references: for each query q, the reference r
/// maximising p(q, r), and that p. queries (Q, 4096), references (R, 4096) features ->
/// (index, probability) per query. Works under `Autograd.noGrad`.
val bestMatches: network: Network -> queries: Tensor -> references: Tensor -> (int * float)[]
