module Reconstruct.Pipelines.Unicorn

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Stages

[<RequireQualifiedAccess>]
type PerceptualKind =
    | Off
    | ResNet18 of Perceptual.Options

type Weights =
    { Perceptual: float
      NormalConsistency: float
      Laplacian: float
      PosePrior: float
      Neighbours: float
      EveryCandidate: float }

    static member Defaults =
        { Perceptual = 10.0
          NormalConsistency = 0.01
          Laplacian = 0.01
          PosePrior = 0.02
          Neighbours = 1.0
          EveryCandidate = 0.0 }

type Config =
    { ImageSize: int
      TemplateScale: float
      EncoderWidth: int
      HeadHidden: int
      ShapeCode: int
      TextureCode: int
      BackgroundCode: int
      FieldHidden: int
      TextureSize: int
      GeneratorChannels: int
      Background: bool
      Pose: Pose.Ranges
      Sigma: float
      FacesPerPixel: int
      Perceptual: PerceptualKind
      PerceptualInPoseStep: bool
      PerceptualInSwaps: bool
      Weights: Weights
      MemorySize: int }

    static member Defaults =
        { ImageSize = 64
          TemplateScale = 0.4
          EncoderWidth = 32
          HeadHidden = 128
          ShapeCode = 32
          TextureCode = 128
          BackgroundCode = 128
          FieldHidden = 128
          TextureSize = 64
          GeneratorChannels = 128
          Background = false
          Pose = Pose.Ranges.Synthetic
          Sigma = 1e-4
          FacesPerPixel = 8
          Perceptual = PerceptualKind.ResNet18 Perceptual.Options.Defaults
          PerceptualInPoseStep = false
          PerceptualInSwaps = false
          Weights = Weights.Defaults
          MemorySize = 1024 }

type Curriculum =
    { Milestones: int list
      ShapeDims: int list
      TextureDims: int list
      BackgroundDims: int list
      FreezeTranslationUntil: int
      FreezeShapeUntil: int
      FreezeScaleUntil: int
      MeanTextureChance: float
      NeighboursFrom: int }

type Conditioning =
    { Stage: int
      ShapeDims: int
      TextureDims: int
      BackgroundDims: int
      FreezeTranslation: bool
      FreezeShape: bool
      FreezeScale: bool
      MeanTextureOnly: bool
      MeanTextureChance: float
      Neighbours: bool }

module Curriculum =
    let scaled (iterations: int) =
        if iterations < 20 then invalidArg "iterations" (sprintf "Curriculum.scaled: at least 20 iterations, received %d" iterations)
        let at (share: float) = int (Math.Round(share * float iterations))
        { Milestones = [ at 0.10; at 0.35; at 0.60 ]
          ShapeDims = [ 0; 2; 8; 32 ]
          TextureDims = [ 2; 8; 32; 128 ]
          BackgroundDims = [ 4; 8; 32; 128 ]
          FreezeTranslationUntil = 0
          FreezeShapeUntil = 0
          FreezeScaleUntil = at 0.02
          MeanTextureChance = 0.2
          NeighboursFrom = at 0.10 }

    let at (curriculum: Curriculum) (iteration: int) =
        let c = curriculum
        if c.Milestones.Length <> 3 || List.pairwise c.Milestones |> List.exists (fun (a, b) -> b < a) then
            invalidArg "curriculum" (sprintf "Curriculum.at: Milestones must be 3 ascending iterations, received %A" c.Milestones)
        for name, dims in [ "ShapeDims", c.ShapeDims; "TextureDims", c.TextureDims; "BackgroundDims", c.BackgroundDims ] do
            if dims.Length <> 4 then invalidArg "curriculum" (sprintf "Curriculum.at: %s must have 4 entries (one per stage), received %A" name dims)
        let stage = 1 + (c.Milestones |> List.filter (fun m -> iteration >= m) |> List.length)
        { Stage = stage
          ShapeDims = c.ShapeDims.[stage - 1]
          TextureDims = c.TextureDims.[stage - 1]
          BackgroundDims = c.BackgroundDims.[stage - 1]
          FreezeTranslation = iteration < c.FreezeTranslationUntil
          FreezeShape = iteration < c.FreezeShapeUntil
          FreezeScale = iteration < c.FreezeScaleUntil
          MeanTextureOnly = stage = 1
          MeanTextureChance = c.MeanTextureChance
          Neighbours = iteration >= c.NeighboursFrom }

    /// Everything active, nothing frozen: evaluation.
    let full (config: Config) =
        { Stage = 4
          ShapeDims = config.ShapeCode
          TextureDims = config.TextureCode
          BackgroundDims = config.BackgroundCode
          FreezeTranslation = false
          FreezeShape = false
          FreezeScale = false
          MeanTextureOnly = false
          MeanTextureChance = 0.0
          Neighbours = false }

type Model =
    { Config: Config
      Template: Deform.Template
      FaceUVs: Tensor
      Encoder: Encode.Encoder
      ShapeHead: Mlp
      TextureHead: Mlp
      BackgroundHead: Mlp option
      ScaleHead: Mlp
      Field: Deform.Field
      Texture: Texture.ImageGenerator
      Background: Texture.ImageGenerator option
      Pose: Pose.Candidates
      Memory: Neighbours.Memory
      Perceptual: Perceptual.Network option }

let create (generator: Generator) (config: Config) =
    let positive (name: string) (value: int) =
        if value <= 0 then invalidArg "config" (sprintf "Unicorn.create: %s must be positive, received %d" name value)
    positive "ImageSize" config.ImageSize
    positive "EncoderWidth" config.EncoderWidth
    positive "HeadHidden" config.HeadHidden
    positive "ShapeCode" config.ShapeCode
    positive "TextureCode" config.TextureCode
    positive "BackgroundCode" config.BackgroundCode
    positive "FieldHidden" config.FieldHidden
    positive "FacesPerPixel" config.FacesPerPixel
    positive "MemorySize" config.MemorySize
    let encoder = Encode.create generator (Encode.Kind.Residual { ResNet.resnet18 with Width = config.EncoderWidth }) 3 config.ImageSize
    let features = Encode.featureSize encoder
    let head outputs = Encode.head generator config.HeadHidden features outputs true
    let template = Deform.ellipsoid config.TemplateScale
    let shapeHead = head config.ShapeCode
    let textureHead = head config.TextureCode
    let backgroundHead = if config.Background then Some(head config.BackgroundCode) else None
    let scaleHead = head 3
    let field = Deform.field generator config.ShapeCode config.FieldHidden
    let texture = Texture.create generator config.TextureCode config.TextureSize config.GeneratorChannels
    let background = if config.Background then Some(Background.create generator config.BackgroundCode config.ImageSize config.GeneratorChannels) else None
    let pose = Pose.create generator features config.HeadHidden config.Pose
    { Config = config
      Template = template
      FaceUVs = Deform.templateFaceUVs template
      Encoder = encoder
      ShapeHead = shapeHead
      TextureHead = textureHead
      BackgroundHead = backgroundHead
      ScaleHead = scaleHead
      Field = field
      Texture = texture
      Background = background
      Pose = pose
      Memory = Neighbours.create config.MemorySize config.ShapeCode config.TextureCode config.ImageSize
      Perceptual =
        match config.Perceptual with
        | PerceptualKind.Off -> None
        | PerceptualKind.ResNet18 _ -> Some(Perceptual.load (Perceptual.defaultPath ())) }

let parameters (model: Model) : Named =
    let optional name (head: 'T option) (parameters: 'T -> Named) =
        match head with
        | Some h -> parameters h |> Named.prefix name
        | None -> []
    let all =
        (Encode.parameters model.Encoder |> Named.prefix "encoder")
        @ (Mlp.parameters model.ShapeHead |> Named.prefix "shape")
        @ (Mlp.parameters model.TextureHead |> Named.prefix "texture_code")
        @ optional "background_code" model.BackgroundHead Mlp.parameters
        @ (Mlp.parameters model.ScaleHead |> Named.prefix "scale")
        @ (Deform.fieldParameters model.Field |> Named.prefix "field")
        @ (Texture.parameters model.Texture |> Named.prefix "texture")
        @ optional "background" model.Background Background.parameters
        @ (Pose.parameters model.Pose |> Named.prefix "pose")
    Named.checkUnique all
    all

let buffers (model: Model) : Named =
    (Encode.buffers model.Encoder |> Named.prefix "encoder") @ (Neighbours.buffers model.Memory |> Named.prefix "memory")

let dispose (model: Model) =
    Named.dispose (parameters model)
    Named.dispose (buffers model)
    (model.FaceUVs :> IDisposable).Dispose()
    Deform.disposeTemplate model.Template

type Prediction =
    { Vertices: Tensor
      Texture: Tensor
      Background: Tensor
      Scale: Tensor
      Rotation: Tensor
      Translation: Tensor
      Azimuth: Tensor
      Elevation: Tensor
      Roll: Tensor
      Probabilities: Tensor }

let disposePrediction (prediction: Prediction) =
    let p = prediction
    for t in [ p.Vertices; p.Texture; p.Background; p.Scale; p.Rotation; p.Translation; p.Azimuth; p.Elevation; p.Roll; p.Probabilities ] do
        (t :> IDisposable).Dispose()

let private checkImages (fn: string) (config: Config) (images: Tensor) =
    let s = config.ImageSize
    if images.Dim <> 4 || images.Size 1 <> 3 || images.Size 2 <> s || images.Size 3 <> s then
        invalidArg "images" (sprintf "%s: images must be (B, 3, %d, %d) RGB, received %s" fn s s (Shape.text images.Shape))

/// Codes past the active dimensions are zeroed (progressive conditioning). codes: (B, D).
let private masked (dims: int) (codes: Tensor) =
    let size = codes.Size 1
    if dims >= size then codes
    else
        let mask = Tensor.ofArray (Array.init size (fun i -> if i < dims then 1.0f else 0.0f), [ 1; size ])
        codes * mask

/// The shape branch: masked code (B, Ds), displacements (B, V, 3) and scale (B, 3).
let private shapeOf (model: Model) (c: Conditioning) (features: Tensor) =
    let code = masked c.ShapeDims (Mlp.apply model.ShapeHead features)
    let displacement = Deform.applyField model.Field model.Template.Vertices code
    let displacement = if c.FreezeShape then displacement.detach () else displacement
    let scale = Deform.scale model.ScaleHead features
    let scale = if c.FreezeScale then scale.detach () else scale
    code, displacement, scale

/// V = s ⊙ (E + D): displacement (B, V, 3), scale (B, 3) -> (B, V, 3).
let private place (model: Model) (displacement: Tensor) (scale: Tensor) =
    (model.Template.Vertices.unsqueeze 0 + displacement) * scale.unsqueeze 1

let private textureOf (model: Model) (c: Conditioning) (meanColour: bool) (features: Tensor) =
    let code = masked c.TextureDims (Mlp.apply model.TextureHead features)
    let image = Texture.apply model.Texture code
    code, (if meanColour then Texture.meanColour image else image)

/// (B, 3, S, S): the generated background, or white when the model has none.
let private backgroundOf (model: Model) (c: Conditioning) (features: Tensor) =
    match model.Background, model.BackgroundHead with
    | Some generator, Some head -> Background.apply generator (masked c.BackgroundDims (Mlp.apply head features))
    | _ ->
        let s = model.Config.ImageSize
        Tensor.ones [ features.Size 0; 3; s; s ]

let private settings (model: Model) = Render.texturedSettings model.Config.ImageSize model.Config.Sigma model.Config.FacesPerPixel

/// Renders meshes already scaled (vertices (N, V, 3)) from rotation (N, 3, 3), translation (N, 3).
let private render (model: Model) (rotation: Tensor) (translation: Tensor) (vertices: Tensor) (texture: Tensor) (background: Tensor) =
    let pose = Camera.pose rotation translation
    Render.textured (settings model) model.Config.Sigma pose vertices model.Template.Faces model.FaceUVs texture background

/// Per-sample reconstruction error: MSE, plus the weighted perceptual distance when asked.
/// rendered, target: (N, 3, S, S) -> (N).
let private reconstruction (model: Model) (withPerceptual: bool) (rendered: Tensor) (target: Tensor) =
    let mse = Loss.mse rendered target
    match model.Perceptual, model.Config.Perceptual with
    | Some network, PerceptualKind.ResNet18 options when withPerceptual ->
        mse + Perceptual.distance network options rendered target * model.Config.Weights.Perceptual
    | _ -> mse

let private encode (training: bool) (model: Model) (images: Tensor) = Encode.apply training model.Encoder images

let predict (model: Model) (images: Tensor) =
    checkImages "Unicorn.predict" model.Config images
    use _ = Autograd.noGrad ()
    use scope = DisposalScope.Open()
    let c = Curriculum.full model.Config
    let features = encode false model images
    let _, displacement, scale = shapeOf model c features
    let _, texture = textureOf model c false features
    let background = backgroundOf model c features
    let pose = Pose.apply model.Pose model.Config.Pose features
    let best = pose.Probabilities.argmax 1
    let rotation, translation = Pose.select pose best
    let pick (t: Tensor) = t.gather(1, best.unsqueeze 1).squeeze 1
    { Vertices = scope.MoveOut(place model displacement scale)
      Texture = scope.MoveOut texture
      Background = scope.MoveOut background
      Scale = scope.MoveOut scale
      Rotation = scope.MoveOut rotation
      Translation = scope.MoveOut translation
      Azimuth = scope.MoveOut(pick pose.Azimuth)
      Elevation = scope.MoveOut(pick pose.Elevation)
      Roll = scope.MoveOut(pick pose.Roll)
      Probabilities = scope.MoveOut pose.Probabilities }

let rerender (model: Model) (prediction: Prediction) =
    let p = prediction
    use _ = Autograd.noGrad ()
    Render.hard model.Config.ImageSize 2 (Camera.pose p.Rotation p.Translation) p.Vertices model.Template.Faces model.FaceUVs p.Texture p.Background

let poseLoss (model: Model) (conditioning: Conditioning) (images: Tensor) =
    let c = conditioning
    checkImages "Unicorn.poseLoss" model.Config images
    use scope = DisposalScope.Open()
    let b = images.Size 0
    let features = encode true model images
    let vertices, texture, background =
        // The pose step trains the pose branch and the encoder only.
        use _ = Autograd.noGrad ()
        let detached = features.detach ()
        let _, displacement, scale = shapeOf model c detached
        let _, texture = textureOf model c c.MeanTextureOnly detached
        place model displacement scale, texture, backgroundOf model c detached
    let pose = Pose.apply model.Pose model.Config.Pose features
    let k = pose.Probabilities.Size 1
    let rotation = pose.Rotation.reshape [ b * k; 3; 3 ]
    let translation = pose.Translation.reshape [ b * k; 3 ]
    let translation = if c.FreezeTranslation then translation.detach () else translation
    // Candidate-major within each sample (b0k0, b0k1, ...), as Rotation's (B, K) flattening.
    let rendered, _ =
        render model rotation translation (vertices.repeatInterleave (k, 0)) (texture.repeatInterleave (k, 0)) (background.repeatInterleave (k, 0))
    let errors = (reconstruction model model.Config.PerceptualInPoseStep rendered (images.repeatInterleave (k, 0))).reshape [ b; k ]
    let reconstructionTerm = (pose.Probabilities * errors).sum(1).mean ()
    // Weighted by p alone, an unlikely candidate's head gets no gradient, so it is untrained
    // for the images the probability head would later hand it; the unweighted mean trains
    // every candidate towards the best pose within its own range.
    let everyCandidate = errors.mean ()
    let prior = Loss.posePrior pose.Probabilities
    let w = model.Config.Weights
    let total = reconstructionTerm + prior * w.PosePrior + everyCandidate * w.EveryCandidate
    [ "rec", scope.MoveOut reconstructionTerm
      "every_candidate", scope.MoveOut everyCandidate
      "prior", scope.MoveOut prior
      "total", scope.MoveOut total ]

/// The neighbour swaps of the 3D step (spec: neighbour reconstruction). Each sample with a
/// valid neighbour j is re-rendered in j's pose, scale and background: the shape swap with
/// the sample's shape and j's texture, the texture swap with j's shape and the sample's
/// texture, both compared with j's image. Returns the two mean errors (0 when none is valid).
let private neighbourSwaps (model: Model) (c: Conditioning) (generator: Generator) (rotation: Tensor) (shapeCode: Tensor) (displacement: Tensor) (textureCode: Tensor) (texture: Tensor) =
    let choice = Neighbours.select model.Memory generator rotation shapeCode textureCode
    let swap (chosen: Tensor) (render: int64[] -> Neighbours.Entries -> Tensor) =
        let pairs = chosen.ToInt64s() |> Array.indexed |> Array.filter (fun (_, j) -> j >= 0L)
        if pairs.Length = 0 then Tensor.zeros [] 
        else
            let samples = pairs |> Array.map (fun (i, _) -> int64 i)
            let neighbours = Neighbours.gather model.Memory (Tensor.ofArray (pairs |> Array.map snd))
            let rendered = render samples neighbours
            (reconstruction model model.Config.PerceptualInSwaps rendered neighbours.Images).mean ()
    let backgroundFrom (images: Tensor) =
        use _ = Autograd.noGrad ()
        backgroundOf model c (encode false model images)
    let shapeSwap =
        swap choice.Shape (fun samples n ->
            let mine = displacement.indexSelect (0, Tensor.ofArray samples)
            let theirTexture = Texture.apply model.Texture n.TextureCodes
            render model n.Rotations n.Translations (place model mine n.Scales) theirTexture (backgroundFrom n.Images) |> fst)
    let textureSwap =
        swap choice.Texture (fun samples n ->
            let theirShape = Deform.vertices model.Template model.Field n.ShapeCodes n.Scales
            let mine = texture.indexSelect (0, Tensor.ofArray samples)
            render model n.Rotations n.Translations theirShape mine (backgroundFrom n.Images) |> fst)
    shapeSwap, textureSwap

let shapeLoss (model: Model) (conditioning: Conditioning) (generator: Generator) (images: Tensor) =
    let c = conditioning
    checkImages "Unicorn.shapeLoss" model.Config images
    use scope = DisposalScope.Open()
    let w = model.Config.Weights
    let features = encode true model images
    let rotation, translation =
        // The 3D step keeps the poses fixed at the most likely candidate.
        use _ = Autograd.noGrad ()
        let pose = Pose.apply model.Pose model.Config.Pose (features.detach ())
        Pose.select pose (pose.Probabilities.argmax 1)
    // Drawn every step, so the generator's stream does not depend on the stage.
    let coin = (Tensor.rand ([ 1 ], generator)).ToScalar()
    let meanColour = c.MeanTextureOnly || coin < c.MeanTextureChance
    let shapeCode, displacement, scale = shapeOf model c features
    let textureCode, texture = textureOf model c meanColour features
    let vertices = place model displacement scale
    let background = backgroundOf model c features
    let rendered, _ = render model rotation translation vertices texture background
    let reconstructionTerm = (reconstruction model true rendered images).mean ()
    let normal = Loss.normalConsistency model.Template.Topology vertices
    let laplacian = Loss.uniformLaplacian model.Template.Topology vertices
    let shapeSwap, textureSwap =
        if c.Neighbours && Neighbours.count model.Memory > 0 then
            neighbourSwaps model c generator rotation (shapeCode.detach ()) displacement (textureCode.detach ()) texture
        else Tensor.zeros [], Tensor.zeros []
    let total =
        reconstructionTerm + normal * w.NormalConsistency + laplacian * w.Laplacian + (shapeSwap + textureSwap) * w.Neighbours
    Neighbours.push
        model.Memory
        { ShapeCodes = shapeCode.detach ()
          TextureCodes = textureCode.detach ()
          Scales = scale.detach ()
          Rotations = rotation
          Translations = translation
          Images = images }
    [ "rec", scope.MoveOut reconstructionTerm
      "normal", scope.MoveOut normal
      "laplacian", scope.MoveOut laplacian
      "shape_swap", scope.MoveOut shapeSwap
      "texture_swap", scope.MoveOut textureSwap
      "total", scope.MoveOut total ]

let faces (model: Model) = model.Template.Faces
