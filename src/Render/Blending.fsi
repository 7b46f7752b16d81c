/// Turning K fragments per pixel into one colour and an alpha, and compositing over a background.
module Reconstruct.Render.Blending

open Reconstruct.Torch

/// UNICORN's layered blend, front to back: α_j = exp(−max(d_j, 0)/σ) (1 inside a face),
/// T_j = Π_{i<j}(1 − α_i), C = Σ_j T_j α_j c_j + T_end·bg, A = 1 − T_end.
/// colors: (B, H, W, K, C) -> rgb (B, C, H, W), alpha (B, 1, H, W).
val layered: sigma: float -> background: float -> fragments: Fragments -> colors: Tensor -> Tensor * Tensor

/// SoftRas / PyTorch3D softmax blend: probabilities sigmoid(−d/σ), colours weighted by
/// exp((z̄ − max)/γ) with z̄ = (far − z)/(far − near), plus a background term.
/// colors: (B, H, W, K, C); background: C values -> rgb (B, C, H, W), alpha (B, 1, H, W).
val softmax:
    sigma: float ->
    gamma: float ->
    znear: float ->
    zfar: float ->
    background: float[] ->
    fragments: Fragments ->
    colors: Tensor ->
        Tensor * Tensor

/// The nearest fragment's colour, alpha 1 where any face covers the pixel centre (hard mode).
/// colors: (B, H, W, K, C) -> rgb (B, C, H, W) premultiplied by alpha, alpha (B, 1, H, W).
val nearest: fragments: Fragments -> colors: Tensor -> Tensor * Tensor

/// rgb·alpha + (1 − alpha)·background. rgb, background: (B, C, H, W); alpha: (B, 1, H, W).
val composite: rgb: Tensor -> alpha: Tensor -> background: Tensor -> Tensor
