/// What happens per fragment after rasterization: interpolate vertex attributes, sample a
/// texture, light. Each step is a plain function of tensors, composed by the caller.
module Reconstruct.Render.Shading

open Reconstruct.Torch

/// Vertex attributes at every fragment, by barycentric weights; zero in empty slots.
/// attrs: (B, V, D); faces: (F, 3) int64 -> (B, H, W, K, D) in the dtype of attrs.
val interpolate: fragments: Fragments -> attrs: Tensor -> faces: Tensor -> Tensor

/// Samples a UV image at fragment UVs (bilinear, border clamped).
/// uvImage: (B, C, Ht, Wt); uv: (B, H, W, K, 2) with u right and v down in [0, 1] -> (B, H, W, K, C).
val sampleTexture: uvImage: Tensor -> uv: Tensor -> Tensor

/// Ambient + directional diffuse lighting of fragment colours.
/// colors: (B, H, W, K, C); normals: (B, H, W, K, 3) (need not be unit); direction: towards the
/// light, in the same frame as the normals -> (B, H, W, K, C).
val diffuse: ambient: float -> diffuseStrength: float -> direction: (float * float * float) -> colors: Tensor -> normals: Tensor -> Tensor
