module Reconstruct.Stages.SiamVP

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers

type Network =
    { Conv1: Conv2d
      Conv2: Conv2d
      Conv3: Conv2d
      Embed: Linear
      Out: Linear }

let [<Literal>] private FeatureSize = 4096

/// The side of the last feature map of an imageSize² input: conv10, pool 2, conv7, pool 2, conv4.
let private lastSide (imageSize: int) = ((imageSize - 9) / 2 - 6) / 2 - 3

let create (generator: Generator) (imageSize: int) (width: int) =
    if imageSize < 46 then
        invalidArg "imageSize" (sprintf "SiamVP.create: the image size must be at least 46 (the last map 1×1), received %d" imageSize)
    if width < 1 then invalidArg "width" (sprintf "SiamVP.create: the width must be positive, received %d" width)
    let side = lastSide imageSize
    let conv1 = Conv2d.create generator (Conv2d.spec 3 width 10)
    let conv2 = Conv2d.create generator (Conv2d.spec width (2 * width) 7)
    let conv3 = Conv2d.create generator (Conv2d.spec (2 * width) (2 * width) 4)
    let embed = Linear.create generator Init.Default (2 * width * side * side) FeatureSize
    let out = Linear.create generator Init.Default FeatureSize 1
    { Conv1 = conv1; Conv2 = conv2; Conv3 = conv3; Embed = embed; Out = out }

let parameters (network: Network) : Named =
    [ "conv1", Conv2d.parameters network.Conv1
      "conv2", Conv2d.parameters network.Conv2
      "conv3", Conv2d.parameters network.Conv3
      "embed", Linear.parameters network.Embed
      "out", Linear.parameters network.Out ]
    |> List.collect (fun (name, items) -> Named.prefix name items)

let rgbOf (rgba: Tensor) =
    if rgba.Dim <> 4 || rgba.Size 1 <> 4 then
        invalidArg "rgba" (sprintf "SiamVP.rgbOf: images must be (B, 4, S, S), received %s" (Shape.text rgba.Shape))
    use scope = DisposalScope.Open()
    scope.MoveOut(rgba.narrow (1, 0, 3) * rgba.narrow (1, 3, 1))

let embed (network: Network) (images: Tensor) =
    if images.Dim <> 4 || images.Size 1 <> 3 then
        invalidArg "images" (sprintf "SiamVP.embed: images must be (B, 3, S, S) RGB, received %s" (Shape.text images.Shape))
    use scope = DisposalScope.Open()
    let h1 = Functional.maxPool2d 2 2 0 (Functional.relu (Conv2d.apply network.Conv1 images))
    let h2 = Functional.maxPool2d 2 2 0 (Functional.relu (Conv2d.apply network.Conv2 h1))
    let h3 = Functional.relu (Conv2d.apply network.Conv3 h2)
    let flat = h3.reshape [ h3.Size 0; -1 ]
    if flat.Size 1 <> Linear.inFeatures network.Embed then
        invalidArg "images" (sprintf "SiamVP.embed: images of %s give %d features, the network takes %d" (Shape.text images.Shape) (flat.Size 1) (Linear.inFeatures network.Embed))
    scope.MoveOut(Functional.sigmoid (Linear.apply network.Embed flat))

let compare (network: Network) (a: Tensor) (b: Tensor) =
    use scope = DisposalScope.Open()
    let logits = Linear.apply network.Out ((a - b).abs ())
    scope.MoveOut(logits.squeeze (-1))

let rotate (degrees: float) (images: Tensor) =
    if images.Dim <> 4 || images.Size 2 <> images.Size 3 then
        invalidArg "images" (sprintf "SiamVP.rotate: images must be square (B, C, S, S), received %s" (Shape.text images.Shape))
    use scope = DisposalScope.Open()
    let b, s = images.Size 0, images.Size 2
    // Output pixel (x, y) (y down, corners at ±1) reads the input at the inverse rotation; a
    // counter-clockwise turn on screen is clockwise in these y-down coordinates.
    let a = degrees * Math.PI / 180.0
    let c, sn = cos a, sin a
    let coords = Array.init s (fun i -> -1.0 + 2.0 * float i / float (s - 1))
    let grid =
        Array.init (s * s * 2) (fun k ->
            let pixel, axis = k / 2, k % 2
            let x, y = coords.[pixel % s], coords.[pixel / s]
            float32 (if axis = 0 then c * x - sn * y else sn * x + c * y))
    let one = Tensor.ofArray (grid, [ 1; s; s; 2 ])
    let batchGrid = one.expand([ b; s; s; 2 ]).contiguous ()
    scope.MoveOut(Functional.gridSample Interpolation.Bilinear GridPadding.Zeros true (batchGrid.cast images.Dtype) images)

type PairLoss =
    { Loss: Tensor
      Accuracy: float
      Positives: int
      Negatives: int }

let pairLoss (network: Network) (rng: SplitMix64) (samples: int) (images: Tensor) (viewIds: int[]) =
    if images.Size 0 <> viewIds.Length then
        invalidArg "viewIds" (sprintf "SiamVP.pairLoss: %d view ids for %d images" viewIds.Length (images.Size 0))
    if samples < 1 then invalidArg "samples" (sprintf "SiamVP.pairLoss: samples must be positive, received %d" samples)
    use scope = DisposalScope.Open()
    let b = viewIds.Length
    let pairs = [| for i in 0 .. b - 1 do for j in i + 1 .. b - 1 -> i, j |]
    let positive = pairs |> Array.filter (fun (i, j) -> viewIds.[i] = viewIds.[j])
    let negative = pairs |> Array.filter (fun (i, j) -> viewIds.[i] <> viewIds.[j])
    let f = embed network images
    let logitsOf (chosen: (int * int)[]) =
        let index (pick: int * int -> int) = Tensor.ofArray (chosen |> Array.map (pick >> int64))
        compare network (f.indexSelect (0, index fst)) (f.indexSelect (0, index snd))
    let side (chosen: (int * int)[]) (target: float) =
        if chosen.Length = 0 then None, 0.0
        else
            let logits = logitsOf chosen
            let hardest = if target = 0.0 then logits.max () else logits.min ()
            let bce (z: Tensor) = Functional.binaryCrossEntropyWithLogits Reduction.Mean z (z.fullLike target)
            let drawn = Array.init samples (fun _ -> rng.Int(0, chosen.Length - 1))
            let random = logits.indexSelect (0, Tensor.ofArray (drawn |> Array.map int64))
            let loss = bce (hardest.reshape [ 1 ]) / float samples + bce random
            let correct =
                use _ = Autograd.noGrad ()
                let p = logits.sigmoid ()
                let hits = if target = 0.0 then p.lt 0.5 else p.gt 0.5
                (hits.cast Dtype.Float32).mean().ToScalar()
            Some loss, correct
    let negLoss, negAcc = side negative 0.0
    let posLoss, posAcc = side positive 1.0
    let loss =
        match negLoss, posLoss with
        | Some a, Some c -> a + c
        | Some a, None | None, Some a -> a
        | None, None -> invalidArg "images" "SiamVP.pairLoss: a batch of one image has no pairs"
    { Loss = scope.MoveOut loss
      Accuracy = (posAcc + negAcc) / 2.0
      Positives = positive.Length
      Negatives = negative.Length }

let bestMatches (network: Network) (queries: Tensor) (references: Tensor) =
    use scope = DisposalScope.Open()
    let logits = compare network (queries.unsqueeze 1) (references.unsqueeze 0) // (Q, R)
    let best = logits.max (1, false)
    let values, indices = fst best, snd best
    let p = values.sigmoid().ToFloat64s()
    let i = indices.ToInt64s()
    Array.init p.Length (fun k -> int i.[k], p.[k])
