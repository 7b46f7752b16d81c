module Reconstruct.Render.Shading

open Reconstruct.Torch

let interpolate (fragments: Fragments) (attrs: Tensor) (faces: Tensor) : Tensor =
    use scope = DisposalScope.Open()
    let shape = fragments.PixToFace.Shape
    let b, h, w, k = shape.[0], shape.[1], shape.[2], shape.[3]
    let d = attrs.Shape.[2]
    let f = faces.Shape.[0]
    if f = 0 then scope.MoveOut(Tensor.zeros ([ b; h; w; k; d ], attrs.Dtype))
    else
        // One table row per (image, face), one index_select row per slot: a gather of whole
        // rows, and its backward an index_add of rows, instead of an element-wise gather.
        let table = (Rasterizer.faceAttributes attrs faces).reshape [ b * f; 3 * d ]
        let valid = fragments.PixToFace.ge 0.0
        let offsets = Tensor.ofArray (Array.init b (fun i -> int64 i * int64 f), [ b; 1; 1; 1 ])
        // masked_fill keeps int64 (a float clamp bound would promote the index to float);
        // empty slots read row 0 of their image with weight 0
        let rows = (fragments.PixToFace.maskedFill (valid.logicalNot (), 0.0) + offsets).flatten ()
        let picked = (table.indexSelect (0, rows)).reshape [ b * h * w * k; 3; d ]
        let weights = (fragments.Bary * valid.unsqueeze(-1).cast attrs.Dtype).reshape [ b * h * w * k; 1; 3 ]
        scope.MoveOut((weights.bmm picked).reshape [ b; h; w; k; d ])

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

let diffuse (ambient: float) (diffuseStrength: float) (direction: float * float * float) (colors: Tensor) (normals: Tensor) =
    use scope = DisposalScope.Open()
    let dx, dy, dz = direction
    let n = sqrt (dx * dx + dy * dy + dz * dz)
    let light = (Tensor.ofArray [| dx / n; dy / n; dz / n |]).cast normals.Dtype
    let unit = normals / (normals.norm(2.0, -1, true).clamp(min = 1e-8))
    let cosine = (unit * light).sum(-1, true).clamp(min = 0.0)
    scope.MoveOut(colors * (cosine * diffuseStrength + ambient))
