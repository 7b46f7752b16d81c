/// What happens per fragment after rasterization: interpolate vertex attributes, sample a
/// texture, light. Each step is a plain function of tensors, composed by the caller.
module Reconstruct.Render.Shading

open Reconstruct.Torch

/// Vertex attributes at every fragment, by barycentric weights; zero in empty slots.
/// attrs: (B, V, D); faces: (F, 3) int64 -> (B, H, W, K, D).
let interpolate (fragments: Fragments) (attrs: Tensor) (faces: Tensor) : Tensor =
    use scope = DisposalScope.Open()
    let shape = fragments.PixToFace.Shape
    let b, h, w, k = shape.[0], shape.[1], shape.[2], shape.[3]
    let d = attrs.Shape.[2]
    let f = faces.Shape.[0]
    let perFace = (Rasterizer.faceAttributes attrs faces).reshape [ b; f; 3 * d ]
    let valid = fragments.PixToFace.ge 0.0
    // masked_fill keeps int64; clamp with a float bound would promote the index to float
    let index = fragments.PixToFace.maskedFill(valid.logicalNot (), 0.0).reshape [ b; h * w * k; 1 ]
    let gathered =
        if f = 0 then Tensor.zeros ([ b; h * w * k; 3 * d ], attrs.Dtype)
        else perFace.gather(1, index.expand [ b; h * w * k; 3 * d ])
    let weights = fragments.Bary.reshape [ b; h * w * k; 3; 1 ]
    let mixed = (gathered.reshape [ b; h * w * k; 3; d ] * weights).sum(2)
    let masked = mixed.reshape [ b; h; w; k; d ] * valid.unsqueeze(-1).cast attrs.Dtype
    scope.MoveOut masked

/// Samples a UV image at fragment UVs (bilinear, border clamped).
/// uvImage: (B, C, Ht, Wt); uv: (B, H, W, K, 2) with u right and v down in [0, 1] -> (B, H, W, K, C).
let sampleTexture (uvImage: Tensor) (uv: Tensor) : Tensor =
    use scope = DisposalScope.Open()
    let s = uv.Shape
    let b, h, w, k = s.[0], s.[1], s.[2], s.[3]
    let c = uvImage.Shape.[1]
    // grid_sample's NDC: -1 is the left/top edge, as u = 0 and v = 0 are.
    let grid = (uv * 2.0 - 1.0).reshape [ b; h; w * k; 2 ]
    let sampled = Functional.gridSample Interpolation.Bilinear GridPadding.Border false grid uvImage
    let out = sampled.reshape([ b; c; h; w; k ]).permute [ 0; 2; 3; 4; 1 ]
    scope.MoveOut(out.contiguous ())

/// Ambient + directional diffuse lighting of fragment colours.
/// colors: (B, H, W, K, C); normals: (B, H, W, K, 3) (need not be unit); direction: towards the
/// light, in the same frame as the normals.
let diffuse (ambient: float) (diffuseStrength: float) (direction: float * float * float) (colors: Tensor) (normals: Tensor) =
    use scope = DisposalScope.Open()
    let dx, dy, dz = direction
    let n = sqrt (dx * dx + dy * dy + dz * dz)
    let light = (Tensor.ofArray [| dx / n; dy / n; dz / n |]).cast normals.Dtype
    let unit = normals / (normals.norm(2.0, -1, true).clamp(min = 1e-8))
    let cosine = (unit * light).sum(-1, true).clamp(min = 0.0)
    scope.MoveOut(colors * (cosine * diffuseStrength + ambient))
