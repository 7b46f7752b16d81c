module Reconstruct.Pipelines.Unsup3d

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Stages

type Config =
    { Ranges: Unsup3d.Ranges
      Focal: float
      Supersample: int
      DepthWidth: int
      DepthCode: int
      ConfidenceWidth: int
      ConfidenceCode: int
      EncoderWidth: int
      FlipWeight: float
      PerceptualWeight: float
      SmoothnessWeight: float
      Confidence: bool
      AlbedoFlip: bool
      DepthFlip: bool
      Lighting: bool }

    static member Defaults =
        { Ranges = Unsup3d.Ranges.Faces
          Focal = Unsup3d.focalLength Unsup3d.FovDegrees Unsup3d.ImageSize
          Supersample = 2
          DepthWidth = 64
          DepthCode = 256
          ConfidenceWidth = 64
          ConfidenceCode = 128
          EncoderWidth = 32
          FlipWeight = 0.5
          PerceptualWeight = 1.0
          SmoothnessWeight = 0.0
          Confidence = true
          AlbedoFlip = true
          DepthFlip = true
          Lighting = true }

type Model =
    { Config: Config
      Depth: Unsup3d.EDDeconv
      Albedo: Unsup3d.EDDeconv
      Light: Unsup3d.Encoder
      View: Unsup3d.Encoder
      Confidence: Unsup3d.ConfNet }

let private check (config: Config) =
    let fail (field: string) (detail: string) = invalidArg "config" (sprintf "Unsup3d.create: %s %s" field detail)
    let r = config.Ranges
    if not (r.MinDepth > 0.0 && r.MaxDepth > r.MinDepth) then fail "Ranges" (sprintf "needs 0 < MinDepth < MaxDepth, received %g, %g" r.MinDepth r.MaxDepth)
    if not (config.Focal > 0.0) then fail "Focal" (sprintf "must be positive, received %g" config.Focal)
    if config.Supersample < 1 then fail "Supersample" (sprintf "must be at least 1, received %d" config.Supersample)
    for name, width in [ "DepthWidth", config.DepthWidth; "ConfidenceWidth", config.ConfidenceWidth ] do
        if width < 16 || width % 16 <> 0 then fail name (sprintf "must be a positive multiple of 16, received %d" width)
    for name, value in [ "DepthCode", config.DepthCode; "ConfidenceCode", config.ConfidenceCode; "EncoderWidth", config.EncoderWidth ] do
        if value < 1 then fail name (sprintf "must be positive, received %d" value)
    for name, value in [ "FlipWeight", config.FlipWeight; "PerceptualWeight", config.PerceptualWeight; "SmoothnessWeight", config.SmoothnessWeight ] do
        if not (value >= 0.0) then fail name (sprintf "must be >= 0, received %g" value)

let create (generator: Generator) (config: Config) =
    check config
    let depth = Unsup3d.EDDeconv.create generator 1 config.DepthCode config.DepthWidth Activation.Identity
    let albedo = Unsup3d.EDDeconv.create generator 3 config.DepthCode config.DepthWidth Activation.Tanh
    let light = Unsup3d.Encoder.create generator 4 config.EncoderWidth
    let view = Unsup3d.Encoder.create generator 6 config.EncoderWidth
    let confidence = Unsup3d.ConfNet.create generator config.ConfidenceCode config.ConfidenceWidth
    // A plane is the neutral shape to start from. PyTorch's default draws start the depth as
    // pixel-to-pixel noise whose normals lie almost across the view: diffuse shading was then
    // noise, k_d fell to its bound within 100 steps and the depth stayed noise the image did
    // not change (cars, 300 steps: depth spread within an image 0.10 on the 0.8 range, MAD
    // 75°). Started flat, the depth took the cars' silhouettes in the same 300 steps.
    do
        use _ = Autograd.noGrad ()
        for _, weight in Conv2d.parameters depth.Out do weight.zero_ () |> ignore
    { Config = config; Depth = depth; Albedo = albedo; Light = light; View = view; Confidence = confidence }

let private allParameters (model: Model) =
    [ Unsup3d.EDDeconv.parameters model.Depth |> Named.prefix "depth"
      Unsup3d.EDDeconv.parameters model.Albedo |> Named.prefix "albedo"
      Unsup3d.Encoder.parameters model.Light |> Named.prefix "light"
      Unsup3d.Encoder.parameters model.View |> Named.prefix "view"
      Unsup3d.ConfNet.parameters model.Confidence |> Named.prefix "confidence" ]

let parameters (model: Model) : Named =
    // Without confidence the network is never used, and an unused leaf would only carry
    // Adam's weight decay towards zero.
    let used = allParameters model |> List.take (if model.Config.Confidence then 5 else 4) |> List.concat
    Named.checkUnique used
    used

let dispose (model: Model) = allParameters model |> List.concat |> Named.dispose

type Factors =
    { Depth: Tensor
      Albedo: Tensor
      Light: Unsup3d.Light
      View: Unsup3d.View
      CanonicalImage: Tensor }

type Forward =
    { Factors: Factors
      Reconstruction: Tensor
      ViewDepth: Tensor
      Mask: Tensor
      Confidence: Unsup3d.Confidence option }

type Prediction =
    { ViewDepth: Tensor
      Mask: Tensor
      Factors: Factors }

let private checkImages (fn: string) (images: Tensor) =
    let s = Unsup3d.ImageSize
    if images.Dim <> 4 || images.Size 1 <> 3 || images.Size 2 <> s || images.Size 3 <> s then
        invalidArg "images" (sprintf "%s: images must be (B, 3, %d, %d) in [−1, 1], received %s" fn s s (Shape.text images.Shape))

/// The warp's depth window: Unsup3d clamps the rendered depth half the depth range beyond
/// the canonical range on either side and counts the far end as background.
let warpSettings (config: Config) : Unsup3dWarp.Settings =
    let r = config.Ranges
    let margin = (r.MaxDepth - r.MinDepth) / 2.0
    { Focal = config.Focal
      Supersample = config.Supersample
      Near = r.MinDepth - margin
      Far = r.MaxDepth + margin }

let private canonicalImage (config: Config) (depth: Tensor) (albedo: Tensor) (light: Unsup3d.Light) =
    if config.Lighting then Unsup3d.shade albedo (Unsup3d.normals (Unsup3d.depthToPoints config.Focal depth)) light
    else albedo

let private factors (model: Model) (images: Tensor) =
    let config = model.Config
    let depth = Unsup3d.depth config.Ranges (Unsup3d.EDDeconv.apply model.Depth images)
    let albedo = Unsup3d.EDDeconv.apply model.Albedo images
    let light = Unsup3d.light config.Ranges (Unsup3d.Encoder.apply model.Light images)
    let view = Unsup3d.view config.Ranges (Unsup3d.Encoder.apply model.View images)
    { Depth = depth
      Albedo = albedo
      Light = light
      View = view
      CanonicalImage = canonicalImage config depth albedo light }

let private twice (x: Tensor) = Tensor.cat ([ x; x ], 0)

let forward (model: Model) (images: Tensor) =
    checkImages "Unsup3d.forward" images
    let config = model.Config
    let b = images.Size 0
    let f = factors model images
    // The mirrored branch: flipped depth and albedo under the same light and view (the light
    // is not mirrored: a symmetric object under an asymmetric light must still explain the
    // image, which is what the confidence maps absorb).
    let depthBoth = Tensor.cat ([ f.Depth; (if config.DepthFlip then Unsup3d.flip f.Depth else f.Depth) ], 0)
    let albedoBoth = Tensor.cat ([ f.Albedo; (if config.AlbedoFlip then Unsup3d.flip f.Albedo else f.Albedo) ], 0)
    let lightBoth: Unsup3d.Light =
        { Ambient = twice f.Light.Ambient; Diffuse = twice f.Light.Diffuse; Direction = twice f.Light.Direction }
    let viewBoth: Unsup3d.View = { Angles = twice f.View.Angles; Translation = twice f.View.Translation }
    let canonical = canonicalImage config depthBoth albedoBoth lightBoth
    let warped = Unsup3dWarp.warp (warpSettings config) config.Ranges.RotationCentreDepth viewBoth depthBoth canonical
    let mask = warped.Mask.narrow (0, 0, b) * warped.Mask.narrow (0, b, b)
    let reconstruction = warped.Image * (twice mask).unsqueeze 1
    { Factors = f
      Reconstruction = reconstruction
      ViewDepth = warped.ViewDepth
      Mask = mask
      Confidence = if config.Confidence then Some(Unsup3d.ConfNet.apply model.Confidence images) else None }

let losses (model: Model) (perceptual: Perceptual.Network option) (images: Tensor) =
    let config = model.Config
    let network =
        match perceptual with
        | Some network -> Some network
        | None when config.PerceptualWeight > 0.0 ->
            invalidArg "perceptual" (sprintf "Unsup3d.losses: PerceptualWeight is %g but no perceptual network was given" config.PerceptualWeight)
        | None -> None
    let out = forward model images
    let b = images.Size 0
    let first, second = out.Reconstruction.narrow (0, 0, b), out.Reconstruction.narrow (0, b, b)
    let channel (k: int) (maps: Tensor) = maps.narrow (1, k, 1)
    let sigma (pick: Unsup3d.Confidence -> Tensor) (k: int) = out.Confidence |> Option.map (fun c -> channel k (pick c))
    let photometric = Unsup3dLoss.photometric first images (sigma (fun c -> c.Photometric) 0) out.Mask
    let photometricFlip = Unsup3dLoss.photometric second images (sigma (fun c -> c.Photometric) 1) out.Mask
    let perceptualTerms =
        match network with
        | Some net when config.PerceptualWeight > 0.0 ->
            [ "perceptual", Unsup3dLoss.perceptual net first images (sigma (fun c -> c.Perceptual) 0) out.Mask
              "perceptual_flip", Unsup3dLoss.perceptual net second images (sigma (fun c -> c.Perceptual) 1) out.Mask ]
        | _ -> []
    let smoothness =
        if config.SmoothnessWeight > 0.0 then [ "smoothness", Unsup3dLoss.smoothness config.Ranges out.Factors.Depth ] else []
    let term name = (perceptualTerms @ smoothness) |> List.pick (fun (n, t) -> if n = name then Some t else None)
    let mutable total = photometric + config.FlipWeight * photometricFlip
    if not perceptualTerms.IsEmpty then
        total <- total + config.PerceptualWeight * (term "perceptual" + config.FlipWeight * term "perceptual_flip")
    if not smoothness.IsEmpty then total <- total + config.SmoothnessWeight * term "smoothness"
    [ "photometric", photometric; "photometric_flip", photometricFlip ]
    @ perceptualTerms
    @ smoothness
    @ [ "mask", out.Mask.mean (); "total", total ]

let predict (model: Model) (images: Tensor) =
    checkImages "Unsup3d.predict" images
    use _ = Autograd.noGrad ()
    let config = model.Config
    let f = factors model images
    let warped = Unsup3dWarp.warp (warpSettings config) config.Ranges.RotationCentreDepth f.View f.Depth f.CanonicalImage
    { ViewDepth = warped.ViewDepth; Mask = warped.Mask; Factors = f }
