module Reconstruct.Stages.Unsup3d

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry

// ---------------------------------------------------------------------- networks

[<Literal>]
let ImageSize = 64

type ConvNorm = { Conv: Conv2d; Norm: GroupNorm option }

type DeconvNorm = { Deconv: ConvTranspose2d; Norm: GroupNorm option }

type Encoder =
    { Down: Conv2d list
      Bottleneck: Conv2d
      Out: Conv2d }

type DownPath = { Blocks: ConvNorm list; ToCode: Conv2d }

type UpBlock = { Deconv: DeconvNorm; Conv: ConvNorm }

type EDDeconv =
    { Down: DownPath
      Up: UpBlock list
      Refine: ConvNorm list
      Out: Conv2d
      Activation: Activation }

type ConfNet =
    { Down: DownPath
      Up: DeconvNorm list
      Photometric: DeconvNorm list
      PhotometricOut: Conv2d
      PerceptualOut: Conv2d }

type Confidence = { Photometric: Tensor; Perceptual: Tensor }

let private leakySlope = 0.2

let private conv (generator: Generator) (cin: int) (cout: int) (kernel: int) (stride: int) (padding: int) =
    Conv2d.create generator { Conv2d.spec cin cout kernel with Stride = stride; Padding = padding; Bias = false }

let private deconv (generator: Generator) (cin: int) (cout: int) (stride: int) (padding: int) =
    ConvTranspose2d.create generator { ConvTranspose2d.spec cin cout 4 with Stride = stride; Padding = padding; Bias = false }

// Unsup3d's group counts are fixed numbers (16, 32, 64), not a fraction of the channels; with
// nf = 64 each group holds 4 channels at every width.
let private convNorm generator cin cout kernel stride padding (groups: int option) : ConvNorm =
    { Conv = conv generator cin cout kernel stride padding
      Norm = groups |> Option.map (fun g -> GroupNorm.create g cout) }

let private deconvNorm generator cin cout stride padding (groups: int option) : DeconvNorm =
    { Deconv = deconv generator cin cout stride padding
      Norm = groups |> Option.map (fun g -> GroupNorm.create g cout) }

let private normalise (norm: GroupNorm option) (x: Tensor) =
    match norm with
    | Some n -> GroupNorm.apply n x
    | None -> x

let private applyConvNorm (activation: Tensor -> Tensor) (layer: ConvNorm) (x: Tensor) =
    activation (normalise layer.Norm (Conv2d.apply layer.Conv x))

let private applyDeconvNorm (layer: DeconvNorm) (x: Tensor) =
    Functional.relu (normalise layer.Norm (ConvTranspose2d.apply layer.Deconv x))

let private normParameters (norm: GroupNorm option) : Named =
    match norm with
    | Some n -> GroupNorm.parameters n |> Named.prefix "norm"
    | None -> []

let private convNormParameters (name: string) (layer: ConvNorm) : Named =
    Conv2d.parameters layer.Conv @ normParameters layer.Norm |> Named.prefix name

let private deconvNormParameters (name: string) (layer: DeconvNorm) : Named =
    ConvTranspose2d.parameters layer.Deconv @ normParameters layer.Norm |> Named.prefix name

let private indexed (name: string) (parameters: string -> 'T -> Named) (layers: 'T list) : Named =
    layers |> List.mapi (fun i layer -> parameters (sprintf "%s.%d" name i) layer) |> List.concat

let private checkImages (fn: string) (images: Tensor) =
    if images.Dim <> 4 || images.Size 1 <> 3 || images.Size 2 <> ImageSize || images.Size 3 <> ImageSize then
        invalidArg "images" (sprintf "%s: images must be (B, 3, %d, %d), received %s" fn ImageSize ImageSize (Shape.text images.Shape))

let private checkWidth (fn: string) (nf: int) (multiple: int) =
    if nf <= 0 || nf % multiple <> 0 then
        invalidArg "nf" (sprintf "%s: nf must be a positive multiple of %d, received %d" fn multiple nf)

let private checkPositive (fn: string) (name: string) (value: int) =
    if value <= 0 then invalidArg name (sprintf "%s: %s must be positive, received %d" fn name value)

module Encoder =
    let create (generator: Generator) (cout: int) (nf: int) : Encoder =
        checkPositive "Encoder.create" "cout" cout
        checkWidth "Encoder.create" nf 1
        let widths = [ 3; nf; 2 * nf; 4 * nf; 8 * nf ]
        let down = widths |> List.pairwise |> List.map (fun (i, o) -> conv generator i o 4 2 1)
        let bottleneck = conv generator (8 * nf) (8 * nf) 4 1 0
        { Down = down; Bottleneck = bottleneck; Out = conv generator (8 * nf) cout 1 1 0 }

    let apply (encoder: Encoder) (images: Tensor) =
        checkImages "Encoder.apply" images
        Scoped.run (fun () ->
            let h = encoder.Down @ [ encoder.Bottleneck ] |> List.fold (fun h c -> Functional.relu (Conv2d.apply c h)) images
            let out = Conv2d.apply encoder.Out h
            (out.reshape [ images.Size 0; -1 ]).tanh ())

    let parameters (encoder: Encoder) : Named =
        [ yield! indexed "down" (fun name c -> Conv2d.parameters c |> Named.prefix name) encoder.Down
          yield! Conv2d.parameters encoder.Bottleneck |> Named.prefix "bottleneck"
          yield! Conv2d.parameters encoder.Out |> Named.prefix "out" ]

// Unsup3d's networks normalise groups of 4 channels at every width (GN(16) over nf = 64, GN(64)
// over 4nf = 256). Narrower networks keep the 4, not the group count: at nf 16 the fixed
// counts made one channel per group, instance normalisation, which removes each channel's
// mean and scale per image, and the decoders' outputs lost their dependence on the image (at
// nf 16 on cars, 300 steps gave every car the same grey albedo and the same depth; with groups
// of 4 the albedo took each car's silhouette within the same 300 steps).
let private groups (channels: int) = Some(channels / 4)

let private downPath (generator: Generator) (zdim: int) (nf: int) : DownPath =
    let blocks =
        [ convNorm generator 3 nf 4 2 1 (groups nf)
          convNorm generator nf (2 * nf) 4 2 1 (groups (2 * nf))
          convNorm generator (2 * nf) (4 * nf) 4 2 1 (groups (4 * nf))
          convNorm generator (4 * nf) (8 * nf) 4 2 1 None ]
    { Blocks = blocks; ToCode = conv generator (8 * nf) zdim 4 1 0 }

let private applyDownPath (down: DownPath) (images: Tensor) =
    let h = down.Blocks |> List.fold (fun h b -> applyConvNorm (Functional.leakyRelu leakySlope) b h) images
    Functional.relu (Conv2d.apply down.ToCode h)

let private downPathParameters (down: DownPath) : Named =
    indexed "down" convNormParameters down.Blocks @ (Conv2d.parameters down.ToCode |> Named.prefix "to_code")

module EDDeconv =
    let create (generator: Generator) (cout: int) (zdim: int) (nf: int) (activation: Activation) : EDDeconv =
        checkPositive "EDDeconv.create" "cout" cout
        checkPositive "EDDeconv.create" "zdim" zdim
        checkWidth "EDDeconv.create" nf 16
        let down = downPath generator zdim nf
        let upBlock cin cout stride padding groups : UpBlock =
            { Deconv = deconvNorm generator cin cout stride padding groups
              Conv = convNorm generator cout cout 3 1 1 groups }
        let up =
            [ upBlock zdim (8 * nf) 1 0 None
              upBlock (8 * nf) (4 * nf) 2 1 (groups (4 * nf))
              upBlock (4 * nf) (2 * nf) 2 1 (groups (2 * nf))
              upBlock (2 * nf) nf 2 1 (groups nf) ]
        let refine = [ convNorm generator nf nf 3 1 1 (groups nf); convNorm generator nf nf 5 1 2 (groups nf) ]
        { Down = down
          Up = up
          Refine = refine
          Out = conv generator nf cout 5 1 2
          Activation = activation }

    let apply (network: EDDeconv) (images: Tensor) =
        checkImages "EDDeconv.apply" images
        Scoped.run (fun () ->
            let code = applyDownPath network.Down images
            let h = network.Up |> List.fold (fun h b -> applyConvNorm Functional.relu b.Conv (applyDeconvNorm b.Deconv h)) code
            let h = Functional.interpolate Interpolation.Nearest false (Resize.Scale 2.0) h
            let h = network.Refine |> List.fold (fun h b -> applyConvNorm Functional.relu b h) h
            Activation.apply network.Activation (Conv2d.apply network.Out h))

    let parameters (network: EDDeconv) : Named =
        let upBlock name (b: UpBlock) =
            deconvNormParameters "deconv" b.Deconv @ convNormParameters "conv" b.Conv |> Named.prefix name
        [ yield! downPathParameters network.Down
          yield! indexed "up" upBlock network.Up
          yield! indexed "refine" convNormParameters network.Refine
          yield! Conv2d.parameters network.Out |> Named.prefix "out" ]

module ConfNet =
    let create (generator: Generator) (zdim: int) (nf: int) : ConfNet =
        checkPositive "ConfNet.create" "zdim" zdim
        checkWidth "ConfNet.create" nf 16
        let down = downPath generator zdim nf
        // The public code stops the shared up path at 2nf channels, 16 px: the perceptual head
        // reads it there, at the resolution of VGG's relu3_3 features.
        let up =
            [ deconvNorm generator zdim (8 * nf) 1 0 None
              deconvNorm generator (8 * nf) (4 * nf) 2 1 (groups (4 * nf))
              deconvNorm generator (4 * nf) (2 * nf) 2 1 (groups (2 * nf)) ]
        let photometric = [ deconvNorm generator (2 * nf) nf 2 1 (groups nf); deconvNorm generator nf nf 2 1 (groups nf) ]
        let photometricOut = conv generator nf 2 5 1 2
        { Down = down
          Up = up
          Photometric = photometric
          PhotometricOut = photometricOut
          PerceptualOut = conv generator (2 * nf) 2 3 1 1 }

    let private softplus (x: Tensor) = Functional.softplus 1.0 20.0 x

    let apply (network: ConfNet) (images: Tensor) : Confidence =
        checkImages "ConfNet.apply" images
        let photometric, perceptual =
            Scoped.run2 (fun () ->
                let features = network.Up |> List.fold (fun h b -> applyDeconvNorm b h) (applyDownPath network.Down images)
                let h = network.Photometric |> List.fold (fun h b -> applyDeconvNorm b h) features
                softplus (Conv2d.apply network.PhotometricOut h), softplus (Conv2d.apply network.PerceptualOut features))
        { Photometric = photometric; Perceptual = perceptual }

    let parameters (network: ConfNet) : Named =
        [ yield! downPathParameters network.Down
          yield! indexed "up" deconvNormParameters network.Up
          yield! indexed "photometric" deconvNormParameters network.Photometric
          yield! Conv2d.parameters network.PhotometricOut |> Named.prefix "photometric_out"
          yield! Conv2d.parameters network.PerceptualOut |> Named.prefix "perceptual_out" ]

// ---------------------------------------------------------------------- output mappings

type Ranges =
    { MinDepth: float
      MaxDepth: float
      BorderDepth: float
      MinDiffuse: float
      RotationRange: float
      XYTranslationRange: float
      ZTranslationRange: float
      RotationCentreDepth: float }

    static member Faces =
        { MinDepth = 0.9
          MaxDepth = 1.1
          BorderDepth = 0.7 * 1.1 + 0.3 * 0.9
          MinDiffuse = 0.0
          RotationRange = 60.0 * System.Math.PI / 180.0
          XYTranslationRange = 0.1
          ZTranslationRange = 0.0
          RotationCentreDepth = 1.0 }

    static member Cats = { Ranges.Faces with ZTranslationRange = 0.1 }

    static member SynCar = { Ranges.Faces with BorderDepth = 1.08; MinDiffuse = 0.5 }

type Light = { Ambient: Tensor; Diffuse: Tensor; Direction: Tensor }

type View = { Angles: Tensor; Translation: Tensor }

/// [−1, 1] -> [low, high], linearly.
let private rescale (low: float) (high: float) (x: Tensor) = (x + 1.0) * (0.5 * (high - low)) + low

let depth (ranges: Ranges) (raw: Tensor) =
    if raw.Dim <> 4 || raw.Size 1 <> 1 || raw.Size 3 < 5 then
        invalidArg "raw" (sprintf "Unsup3d.depth: raw must be (B, 1, H, W) with W >= 5, received %s" (Shape.text raw.Shape))
    Scoped.run (fun () ->
        let raw = raw.squeeze 1
        let centred = raw - raw.mean ([| 1; 2 |], keepDim = true)
        let d = rescale ranges.MinDepth ranges.MaxDepth (centred.tanh ())
        let w = raw.Size 2
        // A 0/1 blend rather than an in-place write keeps autograd's graph simple, and both
        // sides stay exact: d·1 + b·0 = d and d·0 + b·1 = b for finite d.
        let border = Array.init w (fun j -> if j < 2 || j >= w - 2 then 1.0 else 0.0)
        let border = (Tensor.ofArray (border, [ 1; 1; w ])).cast raw.Dtype
        d * (1.0 - border) + border * ranges.BorderDepth)

let light (ranges: Ranges) (raw: Tensor) : Light =
    if raw.Dim <> 2 || raw.Size 1 <> 4 then
        invalidArg "raw" (sprintf "Unsup3d.light: raw must be (B, 4), received %s" (Shape.text raw.Shape))
    let ambient, diffuse, direction =
        Scoped.run3 (fun () ->
            let xy = raw.narrow (1, 2, 2)
            let d = Tensor.cat ([ xy; (raw.narrow (1, 0, 1)).onesLike () ], 1)
            rescale 0.0 1.0 (raw.select (1, 0)),
            rescale ranges.MinDiffuse 1.0 (raw.select (1, 1)),
            d / d.norm (2.0, 1, keepDim = true))
    { Ambient = ambient; Diffuse = diffuse; Direction = direction }

let view (ranges: Ranges) (raw: Tensor) : View =
    if raw.Dim <> 2 || raw.Size 1 <> 6 then
        invalidArg "raw" (sprintf "Unsup3d.view: raw must be (B, 6), received %s" (Shape.text raw.Shape))
    let angles, translation =
        Scoped.run2 (fun () ->
            let scale = Tensor.ofArray ([| ranges.XYTranslationRange; ranges.XYTranslationRange; ranges.ZTranslationRange |], [ 1; 3 ])
            raw.narrow (1, 0, 3) * ranges.RotationRange, raw.narrow (1, 3, 3) * scale.cast raw.Dtype)
    { Angles = angles; Translation = translation }

let flip (x: Tensor) =
    if x.Dim < 1 then invalidArg "x" "Unsup3d.flip: x must have at least one dimension, received a scalar"
    x.flip [ x.Dim - 1 ]

// ---------------------------------------------------------------------- geometry and shading

[<Literal>]
let FovDegrees = 10.0

let focalLength (fovDegrees: float) (size: int) =
    if size < 2 then invalidArg "size" (sprintf "Unsup3d.focalLength: size must be at least 2, received %d" size)
    if not (fovDegrees > 0.0 && fovDegrees < 180.0) then
        invalidArg "fovDegrees" (sprintf "Unsup3d.focalLength: fovDegrees must be in (0, 180), received %g" fovDegrees)
    (float (size - 1) / 2.0) / tan (fovDegrees / 2.0 * System.Math.PI / 180.0)

let private requireFocal (fn: string) (focal: float) =
    if not (focal > 0.0 && System.Double.IsFinite focal) then
        invalidArg "focal" (sprintf "%s: focal must be a positive number of pixels, received %g" fn focal)

let intrinsics (focal: float) (size: int) =
    requireFocal "Unsup3d.intrinsics" focal
    let f, c = focal, float (size - 1) / 2.0
    Tensor.ofArray ([| f; 0.0; c; 0.0; f; c; 0.0; 0.0; 1.0 |], [ 3; 3 ])

let depthToPoints (focal: float) (depth: Tensor) =
    requireFocal "Unsup3d.depthToPoints" focal
    if depth.Dim <> 3 || depth.Size 1 <> depth.Size 2 || depth.Size 1 < 2 then
        invalidArg "depth" (sprintf "Unsup3d.depthToPoints: depth must be (B, S, S) with S >= 2, received %s" (Shape.text depth.Shape))
    let size = depth.Size 1
    let f, c = focal, float (size - 1) / 2.0
    Scoped.run (fun () ->
        // K⁻¹[u, v, 1] = ((u − c)/f, (v − c)/f, 1), written out rather than a matmul so the
        // points are exact multiples of the depth.
        let ray = (Tensor.arange (0.0, float size, 1.0, depth.Dtype) - c) / f
        let x = depth * ray.reshape [ 1; 1; size ]
        let y = depth * ray.reshape [ 1; size; 1 ]
        Tensor.stack ([ x; y; depth ], -1))

let private normalFloor = 1e-12

let normals (points: Tensor) =
    if points.Dim <> 4 || points.Size 3 <> 3 || points.Size 1 < 3 || points.Size 2 < 3 then
        invalidArg "points" (sprintf "Unsup3d.normals: points must be (B, H, W, 3) with H, W >= 3, received %s" (Shape.text points.Shape))
    let h, w = points.Size 1, points.Size 2
    Scoped.run (fun () ->
        // window rows cols: the (h − 2) × (w − 2) block starting at (rows, cols).
        let window (rows: int) (cols: int) = (points.narrow (1, rows, h - 2)).narrow (2, cols, w - 2)
        let alongU = window 1 2 - window 1 0
        let alongV = window 2 1 - window 0 1
        let n = alongU.cross (alongV, 3)
        // The cross product is tiny (about (2d/f)² ≈ 3e-5 at 64 px), so Unsup3d's |n| + 1e-7
        // shortens its normals by 0.3%; a floor on |n| (F.normalize's) guards a degenerate
        // product without biasing the others. Normalised before the border is added, so the
        // border is exactly (0, 0, 1).
        let n = n / (n.norm (2.0, 3, keepDim = true)).clamp (min = normalFloor)
        let pad = Functional.pad (PadMode.Constant 0.0) [ 0; 0; 1; 1; 1; 1 ]
        let interior = pad ((n.narrow (3, 0, 1)).onesLike ())
        let z = (Tensor.ofArray ([| 0.0; 0.0; 1.0 |], [ 3 ])).cast points.Dtype
        pad n + (1.0 - interior) * z)

let private broadcastPerImage (x: Tensor) = x.reshape [ -1; 1; 1; 1 ]

let shade (albedo: Tensor) (normals: Tensor) (light: Light) =
    if albedo.Dim <> 4 || albedo.Size 1 <> 3 then
        invalidArg "albedo" (sprintf "Unsup3d.shade: albedo must be (B, 3, H, W), received %s" (Shape.text albedo.Shape))
    let b, h, w = albedo.Size 0, albedo.Size 2, albedo.Size 3
    if normals.Shape <> [| b; h; w; 3 |] then
        invalidArg "normals" (sprintf "Unsup3d.shade: normals must be (%d, %d, %d, 3) to match albedo, received %s" b h w (Shape.text normals.Shape))
    Scoped.run (fun () ->
        let cosine = (normals * light.Direction.reshape [ b; 1; 1; 3 ]).sum 3
        let shading = broadcastPerImage light.Ambient + broadcastPerImage light.Diffuse * (cosine.clamp (min = 0.0)).unsqueeze 1
        (albedo / 2.0 + 0.5) * shading * 2.0 - 1.0)

let rotation (angles: Tensor) =
    if angles.Dim <> 2 || angles.Size 1 <> 3 then
        invalidArg "angles" (sprintf "Unsup3d.rotation: angles must be (B, 3), received %s" (Shape.text angles.Shape))
    Scoped.run (fun () ->
        let rx, ry, rz = Rotation.rotX (angles.select (1, 0)), Rotation.rotY (angles.select (1, 1)), Rotation.rotZ (angles.select (1, 2))
        rz.matmul (ry.matmul rx))

let orbitAngles (azimuth: float) (elevation: float) =
    // Rx(e)·Ry(a) = [[ca, 0, sa], [se·sa, ce, −se·ca], [−ce·sa, se, ce·ca]] read as Rz·Ry·Rx:
    // its third row gives the y and x angles, its first column the z angle.
    let ca, sa, ce, se = cos azimuth, sin azimuth, cos elevation, sin elevation
    atan2 se (ce * ca), asin (ce * sa), atan2 (se * sa) ca

/// points (B, ..., 3) as (B, N, 3), and the function that restores the shape.
let private flatPoints (fn: string) (points: Tensor) =
    if points.Dim < 2 || points.Size -1 <> 3 then
        invalidArg "points" (sprintf "%s: points must be (B, ..., 3), received %s" fn (Shape.text points.Shape))
    points.reshape [ points.Size 0; -1; 3 ], (fun (t: Tensor) -> t.reshape points.Shape)

let private centre (centreDepth: float) (dtype: Dtype) =
    (Tensor.ofArray ([| 0.0; 0.0; centreDepth |], [ 1; 1; 3 ])).cast dtype

let transformPoints (centreDepth: float) (view: View) (points: Tensor) =
    Scoped.run (fun () ->
        let flat, restore = flatPoints "Unsup3d.transformPoints" points
        let c = centre centreDepth points.Dtype
        let r = rotation view.Angles
        restore ((flat - c).matmul (r.transpose (1, 2)) + c + view.Translation.unsqueeze 1))

let inverseTransformPoints (centreDepth: float) (view: View) (points: Tensor) =
    Scoped.run (fun () ->
        let flat, restore = flatPoints "Unsup3d.inverseTransformPoints" points
        let c = centre centreDepth points.Dtype
        let r = rotation view.Angles
        restore ((flat - view.Translation.unsqueeze 1 - c).matmul r + c))
