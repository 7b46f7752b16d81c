/// Unsup3d's loss terms (Wu, Rupprecht, Vedaldi, CVPR 2020; peers.md §A.5): the photometric
/// Laplacian and perceptual Gaussian negative log-likelihoods under the predicted confidence
/// maps, and the depth smoothness term of its synthetic-car setting.
///
/// As in the rest of Unsup3d, images are in [−1, 1]. Masks are weights in [0, 1] and constants:
/// they are detached here, as Unsup3d detaches its reprojection mask. Each NLL averages over
/// the whole batch and every channel, Σ(ℓ·M)/ΣM with M broadcast over the channels, so the
/// denominator counts every channel-pixel entry (Unsup3d's `mask.expand_as(loss)` before its
/// sum): a term is a per-entry mean, and it does not grow with the channel count. An all-zero
/// mask gives 0/0 = NaN, as in Unsup3d (the trainer refuses a non-finite loss).
module Reconstruct.Stages.Unsup3dLoss

open Reconstruct.Torch

/// ε of both NLLs: ℓ uses σ + ε and 2σ² + ε, so a softplus output that rounds to 0 stays finite.
[<Literal>]
val Epsilon: float = 1e-7

/// The photometric Laplacian NLL: ℓ = √2·|Î − I|/(σ + ε) + ln(σ + ε) per channel and pixel,
/// then Σ(ℓ·M)/ΣM over batch, channels and pixels. `sigma = None` (Unsup3d's `use_conf_map:
/// false`, e.g. syncar) gives the masked mean of |Î − I| with neither the √2 nor the log term.
/// recon, target: (B, C, H, W) float32 or float64 in [−1, 1], the same shape and dtype;
/// sigma: (B, 1, H, W) > 0, recon's dtype, broadcast over channels; mask: (B, H, W) in [0, 1],
/// recon's dtype. Returns a scalar of recon's dtype, differentiable in recon, target and sigma.
val photometric: recon: Tensor -> target: Tensor -> sigma: Tensor option -> mask: Tensor -> Tensor

/// The mask's average over each window of (H/h) × (W/w) pixels: the soft weight of a feature
/// cell, as Unsup3d avg-pools its 64² mask 4×4 to relu3_3's 16². Raises ArgumentException
/// (naming the sizes) unless h divides H and w divides W. mask: (B, H, W) float -> (B, h, w),
/// mask's dtype.
val poolMask: height: int -> width: int -> mask: Tensor -> Tensor

/// The perceptual Gaussian NLL on the frozen ResNet-18's Layer1 features (64 channels at H/4,
/// 16×16 at 64², the resolution of Unsup3d's VGG16 relu3_3, which it replaces):
/// ℓ_p = (f(Î) − f(I))²/(2σ_p² + ε) + ln(σ_p + ε) per channel and feature cell, then
/// Σ(ℓ_p·M)/ΣM over batch, channels and cells with M = `poolMask h w mask`. Both images are
/// mapped from [−1, 1] to [0, 1] (the network's input; its own normalisation is folded into
/// its weights), and the target's features are computed without a graph. `sigma = None`: the
/// masked mean of (f(Î) − f(I))².
/// recon, target: (B, 3, H, W) in [−1, 1], the network's dtype, the same shape; sigma:
/// (B, 1, h, w) > 0 at the features' size (h, w) = (⌊H/4⌋, ⌊W/4⌋), broadcast over channels;
/// mask: (B, H, W) in [0, 1]. Raises ArgumentException when H/h or W/w is not a whole number
/// (14 px gives 3 cells; multiples of 4 are safe, pooling 4×4). Returns a scalar,
/// differentiable in recon and sigma.
val perceptual: network: Perceptual.Network -> recon: Tensor -> target: Tensor -> sigma: Tensor option -> mask: Tensor -> Tensor

/// Unsup3d's depth smoothness L_sm (public code, `lam_depth_sm`, used for syncar only):
/// mean |d[i+1, j] − d[i, j]| + mean |d[i, j+1] − d[i, j]|, each mean over the batch and its
/// (H−1)·W or H·(W−1) differences, the sum divided by the configured depth range
/// MaxDepth − MinDepth (a constant, not each map's own max − min). Unsup3d takes it on the
/// canonical depth before its border columns are set; `Unsup3d.depth` sets them, so a caller
/// that wants the same gradient passes the depth before the border (after it, the two jumps
/// into the border add a term whose gradient reaches columns 2 and W−3 only).
/// depth: (B, H, W) float, H, W ≥ 2 -> scalar of depth's dtype.
val smoothness: ranges: Unsup3d.Ranges -> depth: Tensor -> Tensor
