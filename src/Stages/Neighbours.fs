module Reconstruct.Stages.Neighbours

open System
open Reconstruct.Torch
open Reconstruct.Geometry

[<Literal>]
let BinCount = 5

[<Literal>]
let BinStartDegrees = 20.0

[<Literal>]
let BinWidthDegrees = 32.0

type Entries =
    { ShapeCodes: Tensor
      TextureCodes: Tensor
      Scales: Tensor
      Rotations: Tensor
      Translations: Tensor
      Images: Tensor }

type Choice = { Bins: Tensor; Shape: Tensor; Texture: Tensor }

[<Sealed>]
type Memory(capacity: int, shapeCode: int, textureCode: int, imageSize: int) =
    let shapeCodes = Tensor.zeros [ capacity; shapeCode ]
    let textureCodes = Tensor.zeros [ capacity; textureCode ]
    let scales = Tensor.zeros [ capacity; 3 ]
    let rotations = Tensor.zeros [ capacity; 3; 3 ]
    let translations = Tensor.zeros [ capacity; 3 ]
    let images = Tensor.zeros ([ capacity; 3; imageSize; imageSize ], Dtype.UInt8)
    let state = Tensor.zeros ([ 2 ], Dtype.Int64)
    member _.Capacity = capacity
    member _.ShapeCode = shapeCode
    member _.TextureCode = textureCode
    member _.ImageSize = imageSize
    member _.ShapeCodes = shapeCodes
    member _.TextureCodes = textureCodes
    member _.Scales = scales
    member _.Rotations = rotations
    member _.Translations = translations
    member _.Images = images
    member _.State = state

    member _.Buffers: Layers.Named =
        [ "neighbours.shape_codes", shapeCodes
          "neighbours.texture_codes", textureCodes
          "neighbours.scales", scales
          "neighbours.rotations", rotations
          "neighbours.translations", translations
          "neighbours.images", images
          "neighbours.state", state ]

    interface IDisposable with
        member m.Dispose() =
            for _, t in m.Buffers do
                (t :> IDisposable).Dispose()

let create (capacity: int) (shapeCode: int) (textureCode: int) (imageSize: int) =
    if capacity <= 0 then invalidArg "capacity" (sprintf "Neighbours.create: capacity must be positive, received %d" capacity)
    if shapeCode < 0 then invalidArg "shapeCode" (sprintf "Neighbours.create: shapeCode must be non-negative, received %d" shapeCode)
    if textureCode < 0 then invalidArg "textureCode" (sprintf "Neighbours.create: textureCode must be non-negative, received %d" textureCode)
    if imageSize <= 0 then invalidArg "imageSize" (sprintf "Neighbours.create: imageSize must be positive, received %d" imageSize)
    new Memory(capacity, shapeCode, textureCode, imageSize)

let buffers (memory: Memory) = memory.Buffers

let capacity (memory: Memory) = memory.Capacity

/// (next slot, filled count), read from the state buffer so a restored checkpoint is obeyed.
let private position (memory: Memory) =
    let s = Scoped.hostInt64 memory.State
    let next, filled = int s.[0], int s.[1]
    if next < 0 || next >= memory.Capacity || filled < 0 || filled > memory.Capacity then
        invalidOp (sprintf "Neighbours: state buffer holds next slot %d and count %d, outside a memory of %d entries" next filled memory.Capacity)
    next, filled

let count (memory: Memory) = snd (position memory)

let private expectEntries (fn: string) (memory: Memory) (e: Entries) =
    let b = e.ShapeCodes.Size 0
    let want (arg: string) (t: Tensor) (shape: int list) =
        if t.Shape <> Array.ofList shape then
            invalidArg arg (sprintf "%s: %s must be %s, received %s" fn arg (Shape.text (Array.ofList shape)) (Shape.text t.Shape))
    want "ShapeCodes" e.ShapeCodes [ b; memory.ShapeCode ]
    want "TextureCodes" e.TextureCodes [ b; memory.TextureCode ]
    want "Scales" e.Scales [ b; 3 ]
    want "Rotations" e.Rotations [ b; 3; 3 ]
    want "Translations" e.Translations [ b; 3 ]
    want "Images" e.Images [ b; 3; memory.ImageSize; memory.ImageSize ]

let push (memory: Memory) (entries: Entries) =
    expectEntries "Neighbours.push" memory entries
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let next, filled = position memory
    let b = entries.ShapeCodes.Size 0
    let kept = min b memory.Capacity
    let quantised = (entries.Images.cast(Dtype.Float32) * 255.0).round().clamp(0.0, 255.0).cast Dtype.UInt8
    let pairs =
        [ memory.ShapeCodes, entries.ShapeCodes
          memory.TextureCodes, entries.TextureCodes
          memory.Scales, entries.Scales
          memory.Rotations, entries.Rotations
          memory.Translations, entries.Translations
          memory.Images, quantised ]
    // At most two runs of slots: up to the end of the ring, then from its start.
    let first = min kept (memory.Capacity - next)
    for target, source in pairs do
        let source = (source.narrow (0, b - kept, kept)).cast target.Dtype
        (target.narrow (0, next, first)).copy_ (source.narrow (0, 0, first)) |> ignore
        if kept > first then
            (target.narrow (0, 0, kept - first)).copy_ (source.narrow (0, first, kept - first)) |> ignore
    let state = Tensor.ofArray [| int64 ((next + kept) % memory.Capacity); int64 (min memory.Capacity (filled + kept)) |]
    memory.State.copy_ state |> ignore

let select (memory: Memory) (generator: Generator) (rotations: Tensor) (shapeCodes: Tensor) (textureCodes: Tensor) =
    let b = rotations.Size 0
    Shape.expect "Neighbours.select" "rotations" rotations.Shape [ 3 ] [ 3; 3 ]
    let want (arg: string) (t: Tensor) (d: int) =
        if t.Shape <> [| b; d |] then
            invalidArg arg (sprintf "Neighbours.select: %s must be %s, received %s" arg (Shape.text [| b; d |]) (Shape.text t.Shape))
    want "shapeCodes" shapeCodes memory.ShapeCode
    want "textureCodes" textureCodes memory.TextureCode
    let filled = count memory
    Scoped.run3 (fun () ->
        use _ = Autograd.noGrad ()
        let bins = Tensor.randint (0L, int64 BinCount, [ b ], generator)
        if filled = 0 then
            let none = Tensor.full ([ b ], -1.0, Dtype.Int64)
            bins, none, none.clone ()
        else
            let stored = (memory.Rotations.narrow (0, 0, filled)).cast(Dtype.Float64).unsqueeze 0
            let angles = Rotation.geodesicAngle (rotations.cast(Dtype.Float64).unsqueeze 1) stored * (180.0 / Math.PI) // (B, n)
            let low = (bins.cast Dtype.Float64 * BinWidthDegrees + BinStartDegrees).unsqueeze 1
            let valid = (angles.ge low).logicalAnd (angles.lt (low + BinWidthDegrees))
            let anyValid = (valid.cast Dtype.Int64).sum(1).ge 1.0
            let nearest (codes: Tensor) (bank: Tensor) =
                let distances = (codes.cast(Dtype.Float32).unsqueeze 1 - (bank.narrow (0, 0, filled)).unsqueeze 0).square().sum 2
                let slot = (distances.maskedFill (valid.logicalNot (), Double.PositiveInfinity)).argmin 1
                Tensor.where (anyValid, slot, slot.fullLike -1.0)
            bins, nearest shapeCodes memory.ShapeCodes, nearest textureCodes memory.TextureCodes)
    |> fun (bins, shape, texture) -> { Bins = bins; Shape = shape; Texture = texture }

let gather (memory: Memory) (indices: Tensor) =
    Shape.expect "Neighbours.gather" "indices" indices.Shape [ 1 ] []
    if indices.Dtype <> Dtype.Int64 then
        invalidArg "indices" (sprintf "Neighbours.gather: indices must be int64, received %s" (Shape.describe indices.Dtype indices.Shape))
    let filled = count memory
    let slots = Scoped.hostInt64 indices
    match slots |> Array.tryFind (fun k -> k < 0L || k >= int64 filled) with
    | Some k -> invalidArg "indices" (sprintf "Neighbours.gather: slot %d is outside the %d filled entries" k filled)
    | None -> ()
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let pick (t: Tensor) = scope.MoveOut (t.indexSelect (0, indices))
    { ShapeCodes = pick memory.ShapeCodes
      TextureCodes = pick memory.TextureCodes
      Scales = pick memory.Scales
      Rotations = pick memory.Rotations
      Translations = pick memory.Translations
      Images = scope.MoveOut ((memory.Images.indexSelect (0, indices)).cast Dtype.Float32 / 255.0) }
