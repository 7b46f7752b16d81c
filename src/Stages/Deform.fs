module Reconstruct.Stages.Deform

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry

type Template = { Vertices: Tensor; Faces: Tensor; Topology: Topology }

let sphere (level: int) =
    if level < 0 || level > 6 then invalidArg "level" (sprintf "Deform.sphere: level must be in 0..6, received %d" level)
    let mesh = Mesh.icosphere level
    let vertices = mesh.Vertices.squeeze 0
    (mesh.Vertices :> IDisposable).Dispose()
    { Vertices = vertices
      Faces = mesh.Faces
      Topology = Mesh.topology (vertices.Size 0) mesh.Faces }

let disposeTemplate (template: Template) =
    for t in [ template.Vertices; template.Faces; template.Topology.Edges; template.Topology.EdgeFaces
               template.Topology.EdgeOpposite; template.Topology.Interior; template.Topology.Degree ] do
        (t :> IDisposable).Dispose()

type SoftRasDecoder = { Fc1: Linear; Fc2: Linear; Centroid: Linear; Bias: Linear }

let softRasDecoder (generator: Generator) (featureSize: int) (template: Template) =
    let linear i o = Linear.create generator Init.Default i o
    let fc1 = linear featureSize 1024
    let fc2 = linear 1024 2048
    let centroid = linear 2048 3
    let bias = linear 2048 (template.Vertices.Size 0 * 3)
    { Fc1 = fc1; Fc2 = fc2; Centroid = centroid; Bias = bias }

let applySoftRas (template: Template) (decoder: SoftRasDecoder) (features: Tensor) =
    if features.Dim <> 2 || features.Size 1 <> Linear.inFeatures decoder.Fc1 then
        invalidArg "features" (sprintf "Deform.applySoftRas: features must be (B, %d), received %s" (Linear.inFeatures decoder.Fc1) (Shape.text features.Shape))
    let v = template.Vertices.Size 0
    if Linear.outFeatures decoder.Bias <> 3 * v then
        invalidArg "template" (sprintf "Deform.applySoftRas: the decoder was built for %d vertices, the template has %d" (Linear.outFeatures decoder.Bias / 3) v)
    Scoped.run (fun () ->
        let b = features.Size 0
        let hidden = features |> Linear.apply decoder.Fc1 |> Functional.relu |> Linear.apply decoder.Fc2 |> Functional.relu
        let bias = (Linear.apply decoder.Bias hidden).reshape [ b; v; 3 ]
        let c = (Linear.apply decoder.Centroid hidden * 0.1).tanh().unsqueeze 1
        let half = (template.Vertices * 0.5).cast features.Dtype
        // |b| is 0 where the template has a 0 coordinate: clamped so its logit is finite (its
        // sign 0 keeps that coordinate at c/2 anyway).
        let magnitude = half.abs().clamp (1e-6, 1.0 - 1e-6)
        let logit = (magnitude / (1.0 - magnitude)).log ()
        let unit = (logit + bias).sigmoid () * half.sign ()
        (unit.relu () * (1.0 - c) - (-unit).relu () * (1.0 + c) + c) * 0.5)

let parameters (decoder: SoftRasDecoder) : Named =
    [ yield! Linear.parameters decoder.Fc1 |> Named.prefix "fc1"
      yield! Linear.parameters decoder.Fc2 |> Named.prefix "fc2"
      yield! Linear.parameters decoder.Centroid |> Named.prefix "fc_centroid"
      yield! Linear.parameters decoder.Bias |> Named.prefix "fc_bias" ]

// ---------------------------------------------------------------------- UNICORN

let ellipsoid (scale: float) =
    if not (scale > 0.0 && Double.IsFinite scale) then
        invalidArg "scale" (sprintf "Deform.ellipsoid: scale must be positive and finite, received %g" scale)
    let mesh = Reconstruct.Geometry.Template.unicorn scale
    let vertices = mesh.Vertices.squeeze 0
    (mesh.Vertices :> IDisposable).Dispose()
    // The mesh's UVs are recomputed on demand (templateUVs, templateFaceUVs): a Template has
    // no UV field, and the copies would otherwise outlive it.
    mesh.UVs |> Option.iter (fun uv -> for t in [ uv.Coords; uv.Faces ] do (t :> IDisposable).Dispose())
    { Vertices = vertices
      Faces = mesh.Faces
      Topology = Mesh.topology (vertices.Size 0) mesh.Faces }

let templateUVs (template: Template) = UVMap.sphericalPerVertex template.Vertices

let templateFaceUVs (template: Template) =
    let uvs = UVMap.spherical template.Vertices template.Faces
    try UVMap.faceCoords uvs
    finally
        for t in [ uvs.Coords; uvs.Faces ] do
            (t :> IDisposable).Dispose()

type Field = { Point: Linear; Code: Linear; Layers: Mlp }

let field (generator: Generator) (codeSize: int) (hidden: int) =
    if codeSize <= 0 || hidden <= 0 then
        invalidArg "codeSize" (sprintf "Deform.field: codeSize and hidden must be positive, received %d and %d" codeSize hidden)
    let kaiming = Init.KaimingNormal FanMode.FanIn
    let point = Linear.create generator kaiming 3 hidden
    let code = Linear.create generator kaiming codeSize hidden
    let layers =
        Mlp.create
            generator
            { Widths = [ hidden; hidden; hidden; 3 ]
              Activation = Activation.ReLU
              Init = kaiming
              LastInit = Init.Zeros }
    { Point = point; Code = code; Layers = layers }

let applyField (field: Field) (points: Tensor) (codes: Tensor) =
    let codeSize = Linear.inFeatures field.Code
    if points.Dim <> 2 || points.Size 1 <> 3 then
        invalidArg "points" (sprintf "Deform.applyField: points must be (V, 3), received %s" (Shape.text points.Shape))
    if codes.Dim <> 2 || codes.Size 1 <> codeSize then
        invalidArg "codes" (sprintf "Deform.applyField: codes must be (B, %d), received %s" codeSize (Shape.text codes.Shape))
    Scoped.run (fun () ->
        // (V, hidden) and (B, hidden) broadcast to (B, V, hidden): the first layer costs
        // (V + B)·hidden·(3 + codeSize) instead of B·V·hidden·(3 + codeSize).
        let perPoint = Linear.apply field.Point points
        let perCode = Linear.apply field.Code codes
        let h = Functional.relu (perPoint.unsqueeze 0 + perCode.unsqueeze 1)
        Mlp.apply field.Layers h)

let fieldParameters (field: Field) : Named =
    [ yield! Linear.parameters field.Point |> Named.prefix "point"
      yield! Linear.parameters field.Code |> Named.prefix "code"
      yield! Mlp.parameters field.Layers |> Named.prefix "layers" ]

let scale (head: Mlp) (features: Tensor) =
    if features.Dim <> 2 || features.Size 1 <> Mlp.inFeatures head || Mlp.outFeatures head <> 3 then
        invalidArg "features" (sprintf "Deform.scale: needs a head %d -> 3 and features (B, %d), received a head %d -> %d and %s"
                                   (Mlp.inFeatures head) (Mlp.inFeatures head) (Mlp.inFeatures head) (Mlp.outFeatures head) (Shape.text features.Shape))
    Scoped.run (fun () -> 1.0 + 0.5 * (Mlp.apply head features).tanh ())

let vertices (template: Template) (field: Field) (codes: Tensor) (scale: Tensor) =
    if scale.Dim <> 2 || scale.Size 1 <> 3 || codes.Dim < 1 || scale.Size 0 <> codes.Size 0 then
        invalidArg "scale" (sprintf "Deform.vertices: scale must be (B, 3) with B the codes' %s, received %s" (Shape.text codes.Shape) (Shape.text scale.Shape))
    Scoped.run (fun () ->
        let e = template.Vertices.cast codes.Dtype
        scale.unsqueeze 1 * (e + applyField field e codes))
