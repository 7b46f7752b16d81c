[<RequireQualifiedAccess>]
module Reconstruct.Stages.Render

open System
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render
open Reconstruct.Data

type View = { Azimuth: Tensor; Elevation: Tensor; Distance: Tensor }

module View =
    let private column (values: float[]) = Tensor.ofArray (values |> Array.map float32)

    let ofDegrees (azimuths: float[]) (elevations: float[]) (distances: float[]) =
        if elevations.Length <> azimuths.Length || distances.Length <> azimuths.Length then
            invalidArg "azimuths" (sprintf "Render.View.ofDegrees: %d azimuths, %d elevations and %d distances differ in number" azimuths.Length elevations.Length distances.Length)
        { Azimuth = column (azimuths |> Array.map Rotation.radians)
          Elevation = column (elevations |> Array.map Rotation.radians)
          Distance = column distances }

    let ofDataset (views: DatasetRender.View[]) =
        views
        |> Array.iteri (fun k v ->
            if v.Roll <> 0.0 || v.Scale <> 1.0 || v.ShiftX <> 0.0 || v.ShiftY <> 0.0 then
                invalidArg "views" (sprintf "Render.View.ofDataset: view %d has roll %g, scale %g, shift (%g, %g); only orbit cameras are supported" k v.Roll v.Scale v.ShiftX v.ShiftY))
        ofDegrees (views |> Array.map (fun v -> v.Azimuth)) (views |> Array.map (fun v -> v.Elevation)) (views |> Array.map (fun v -> v.Distance))

    let cat (views: View list) =
        let join (f: View -> Tensor) = Tensor.cat (views |> List.map f, 0)
        { Azimuth = join (fun v -> v.Azimuth); Elevation = join (fun v -> v.Elevation); Distance = join (fun v -> v.Distance) }

    let count (view: View) = view.Azimuth.Size 0

    let dispose (view: View) =
        for t in [ view.Azimuth; view.Elevation; view.Distance ] do
            (t :> IDisposable).Dispose()

let settings (size: int) (sigma: float) =
    if size <= 0 then invalidArg "size" (sprintf "Render.settings: size must be positive, received %d" size)
    if not (sigma > 0.0) then invalidArg "sigma" (sprintf "Render.settings: sigma must be positive, received %g" sigma)
    { SoftSettings.Defaults with Height = size; Width = size; Sigma = sigma; Gamma = sigma }

let silhouette (settings: SoftSettings) (view: View) (vertices: Tensor) (faces: Tensor) =
    Shape.expect "Render.silhouette" "vertices" vertices.Shape [ 3 ] [ 3 ]
    Shape.expectFaces "Render.silhouette" faces.Dtype faces.Shape
    let b = vertices.Size 0
    if View.count view <> b || view.Elevation.Size 0 <> b || view.Distance.Size 0 <> b then
        invalidArg "view" (sprintf "Render.silhouette: %d meshes but %d azimuths, %d elevations, %d distances" b (View.count view) (view.Elevation.Size 0) (view.Distance.Size 0))
    Scoped.run (fun () ->
        let cast (t: Tensor) = t.cast vertices.Dtype
        let azimuth = cast view.Azimuth
        let pose = Camera.orbit azimuth (cast view.Elevation) (azimuth.zerosLike ()) (cast view.Distance)
        let camera = Camera.perspective DatasetRender.fovDegrees settings.Width settings.Height
        let ndc = Camera.cameraToNdc camera (Camera.objectToCamera pose vertices)
        Renderer.silhouettes settings (Rasterizer.faceAttributes ndc faces))
