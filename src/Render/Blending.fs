module Reconstruct.Render.Blending

open Reconstruct.Torch

let layered (sigma: float) (background: float) (fragments: Fragments) (colors: Tensor) =
    use scope = DisposalScope.Open()
    let valid = (fragments.PixToFace.ge 0.0).cast colors.Dtype
    let alpha = (fragments.Dists.clamp(min = 0.0) * (-1.0 / sigma)).exp() * valid // (B,H,W,K)
    // An explicit product over the K layers rather than cumprod: inside a face 1 − α is exactly
    // 0, and cumprod's backward takes a slow path through every such zero. unbind/stack keep
    // the per-layer backward to one op (narrow/select would zero-fill a full tensor per layer).
    let layers = alpha.unbind 3 // K × (B,H,W)
    let weights = Array.zeroCreate<Tensor> layers.Length
    let mutable through = layers.[0].onesLike ()
    for j in 0 .. layers.Length - 1 do
        weights.[j] <- through * layers.[j]
        through <- through * (1.0 - layers.[j])
    let final = through.unsqueeze 3 // (B,H,W,1)
    let rgb = ((Tensor.stack (weights, 3)).unsqueeze(-1) * colors).sum(3) + final * background // (B,H,W,C)
    let a = 1.0 - final
    scope.MoveOut(rgb.permute([ 0; 3; 1; 2 ]).contiguous ()), scope.MoveOut(a.permute([ 0; 3; 1; 2 ]).contiguous ())

let softmax (sigma: float) (gamma: float) (znear: float) (zfar: float) (background: float[]) (fragments: Fragments) (colors: Tensor) =
    use scope = DisposalScope.Open()
    let eps = 1e-10
    let valid = (fragments.PixToFace.ge 0.0).cast colors.Dtype
    let prob = (fragments.Dists * (-1.0 / sigma)).sigmoid() * valid
    let alpha = 1.0 - (1.0 - prob).prod(3, true) // (B,H,W,1)
    let zInv = (fragments.Zbuf * -1.0 + zfar) * (valid / (zfar - znear))
    let zMax, _ = zInv.max(3, true)
    let zMax = zMax.clamp(min = eps)
    let w = prob * ((zInv - zMax) / gamma).exp()
    let delta = ((zMax * -1.0 + eps) / gamma).exp().clamp(min = eps)
    let bg = (Tensor.ofArray background).cast colors.Dtype
    let numerator = (w.unsqueeze(-1) * colors).sum(3) + delta * bg
    let rgb = numerator / (w.sum(3, true) + delta)
    scope.MoveOut(rgb.permute([ 0; 3; 1; 2 ]).contiguous ()), scope.MoveOut(alpha.permute([ 0; 3; 1; 2 ]).contiguous ())

let nearest (fragments: Fragments) (colors: Tensor) =
    use scope = DisposalScope.Open()
    let inside = (fragments.PixToFace.narrow(3, 0, 1).ge 0.0).logicalAnd(fragments.Dists.narrow(3, 0, 1).le 0.0)
    let a = inside.cast colors.Dtype // (B,H,W,1)
    let rgb = colors.select(3, 0) * a
    scope.MoveOut(rgb.permute([ 0; 3; 1; 2 ]).contiguous ()), scope.MoveOut(a.permute([ 0; 3; 1; 2 ]).contiguous ())

let composite (rgb: Tensor) (alpha: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    scope.MoveOut(rgb * alpha + (1.0 - alpha) * background)
