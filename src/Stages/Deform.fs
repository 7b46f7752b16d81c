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
