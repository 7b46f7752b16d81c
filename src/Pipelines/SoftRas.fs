module Reconstruct.Pipelines.SoftRas

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Stages

type EncoderKind =
    | SoftRasConv
    | ResNet18 of width: int

type Config =
    { ImageSize: int
      TemplateLevel: int
      Encoder: EncoderKind
      Sigma: float
      LaplacianWeight: float
      FlattenWeight: float }

    static member Defaults =
        { ImageSize = 64
          TemplateLevel = 3
          Encoder = SoftRasConv
          Sigma = 1e-4
          LaplacianWeight = 5e-3
          FlattenWeight = 5e-4 }

type Model =
    { Config: Config
      Template: Deform.Template
      Encoder: Encode.Encoder
      Decoder: Deform.SoftRasDecoder }

let private channels = 4

let create (generator: Generator) (config: Config) =
    if config.ImageSize <= 0 then invalidArg "config" (sprintf "SoftRas.create: ImageSize must be positive, received %d" config.ImageSize)
    let kind =
        match config.Encoder with
        | SoftRasConv -> Encode.Kind.SoftRas
        | ResNet18 width ->
            if width <= 0 then invalidArg "config" (sprintf "SoftRas.create: the ResNet18 width must be positive, received %d" width)
            Encode.Kind.Residual { ResNet.resnet18 with Width = width }
    let template = Deform.sphere config.TemplateLevel
    let encoder = Encode.create generator kind channels config.ImageSize
    let decoder = Deform.softRasDecoder generator (Encode.featureSize encoder) template
    { Config = config; Template = template; Encoder = encoder; Decoder = decoder }

let parameters (model: Model) : Named =
    let all = (Encode.parameters model.Encoder |> Named.prefix "encoder") @ (Deform.parameters model.Decoder |> Named.prefix "decoder")
    Named.checkUnique all
    all

let buffers (model: Model) : Named = Encode.buffers model.Encoder |> Named.prefix "encoder"

let dispose (model: Model) =
    Named.dispose (parameters model)
    Named.dispose (buffers model)
    Deform.disposeTemplate model.Template

type Batch =
    { ImagesA: Tensor
      ImagesB: Tensor
      ViewA: Render.View
      ViewB: Render.View }

let private checkImages (fn: string) (arg: string) (config: Config) (images: Tensor) =
    let s = config.ImageSize
    if images.Dim <> 4 || images.Size 1 <> channels || images.Size 2 <> s || images.Size 3 <> s then
        invalidArg arg (sprintf "%s: %s must be (B, %d, %d, %d) RGBA, received %s" fn arg channels s s (Shape.text images.Shape))

let private vertices (training: bool) (model: Model) (images: Tensor) =
    Scoped.run (fun () ->
        Encode.apply training model.Encoder images |> Deform.applySoftRas model.Template model.Decoder)

let predict (model: Model) (images: Tensor) =
    checkImages "SoftRas.predict" "images" model.Config images
    vertices false model images

let losses (model: Model) (sigma: float) (batch: Batch) =
    checkImages "SoftRas.losses" "batch.ImagesA" model.Config batch.ImagesA
    checkImages "SoftRas.losses" "batch.ImagesB" model.Config batch.ImagesB
    let b = batch.ImagesA.Size 0
    if batch.ImagesB.Size 0 <> b || Render.View.count batch.ViewA <> b || Render.View.count batch.ViewB <> b then
        invalidArg "batch" (sprintf "SoftRas.losses: %d images A, %d images B, %d views A, %d views B must agree" b (batch.ImagesB.Size 0) (Render.View.count batch.ViewA) (Render.View.count batch.ViewB))
    use scope = DisposalScope.Open()
    let config = model.Config
    // One encoder pass over both views: [Ma; Mb].
    let meshes = vertices true model (Tensor.cat ([ batch.ImagesA; batch.ImagesB ], 0))
    let views = Render.View.cat [ batch.ViewA; batch.ViewA; batch.ViewB; batch.ViewB ]
    let silhouettes = Render.silhouette (Render.settings config.ImageSize sigma) views (Tensor.cat ([ meshes; meshes ], 0)) model.Template.Faces
    let alpha (images: Tensor) = images.narrow (1, 3, 1)
    let targets = Tensor.cat ([ alpha batch.ImagesA; alpha batch.ImagesA; alpha batch.ImagesB; alpha batch.ImagesB ], 0)
    let iou = Loss.iou silhouettes targets
    let laplacian = Loss.laplacian model.Template.Topology meshes
    let flatten = Loss.flatten model.Template.Topology meshes
    let total = iou + laplacian * config.LaplacianWeight + flatten * config.FlattenWeight
    [ "iou", scope.MoveOut iou
      "laplacian", scope.MoveOut laplacian
      "flatten", scope.MoveOut flatten
      "total", scope.MoveOut total ]

let faces (model: Model) = model.Template.Faces

let mesh (model: Model) (vertices: Tensor) =
    Shape.expect "SoftRas.mesh" "vertices" vertices.Shape [ 3 ] [ model.Template.Vertices.Size 0; 3 ]
    Scoped.run2 (fun () -> vertices.detach().contiguous().clone (), model.Template.Faces.clone ())
    ||> Mesh.create
