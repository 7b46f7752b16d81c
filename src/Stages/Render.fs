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

let unicornFovDegrees = 30.0

let texturedSettings (size: int) (sigma: float) (facesPerPixel: int) =
    if size <= 0 then invalidArg "size" (sprintf "Render.texturedSettings: size must be positive, received %d" size)
    if not (sigma > 0.0) then invalidArg "sigma" (sprintf "Render.texturedSettings: sigma must be positive, received %g" sigma)
    if facesPerPixel <= 0 then invalidArg "facesPerPixel" (sprintf "Render.texturedSettings: facesPerPixel must be positive, received %d" facesPerPixel)
    { RasterSettings.Defaults with
        Height = size
        Width = size
        FacesPerPixel = facesPerPixel
        BlurRadius = Rasterizer.blurRadiusFor sigma 1e-4
        PerspectiveCorrect = false
        CullBackfaces = false
        ZNear = 0.1 }

let periodicTexture (uvImage: Tensor) (faceUVs: Tensor) =
    Shape.expect "Render.periodicTexture" "uvImage" uvImage.Shape [ 4 ] [ -1; -1; -1 ]
    Shape.expect "Render.periodicTexture" "faceUVs" faceUVs.Shape [ 3 ] [ 3; 2 ]
    let wt = uvImage.Size 3
    let us = Scoped.host64 (faceUVs.select (2, 0))
    if us |> Array.exists (fun u -> not (Double.IsFinite u)) then
        invalidArg "faceUVs" "Render.periodicTexture: faceUVs hold a non-finite u"
    let lo, hi = (if us.Length = 0 then 0.0 else Array.min us), (if us.Length = 0 then 1.0 else Array.max us)
    // A tap at u needs the columns within half a texel; one spare column on each side
    // covers the blend across the seam at u = 0 and u = 1.
    let left = max 1 (int (ceil (-lo * float wt)) + 1)
    let right = max 1 (int (ceil ((hi - 1.0) * float wt)) + 1)
    let width = left + wt + right
    Scoped.run2 (fun () ->
        let columns = Array.init width (fun j -> int64 (((j - left) % wt + wt) % wt))
        let wrapped = uvImage.indexSelect (3, Tensor.ofArray columns)
        let u = (faceUVs.select (2, 0) * float wt + float left) / float width
        wrapped, Tensor.stack ([ u; faceUVs.select (2, 1) ], 2))

let private unicornCamera (size: int) = Camera.square unicornFovDegrees size

let private expectPosed (fn: string) (pose: Pose) (vertices: Tensor) (faces: Tensor) (faceUVs: Tensor) (uvImage: Tensor) (background: Tensor) (size: int) =
    Shape.expect fn "vertices" vertices.Shape [ 3 ] [ -1; 3 ]
    Shape.expectFaces fn faces.Dtype faces.Shape
    let n, f = vertices.Size 0, faces.Size 0
    let want (arg: string) (t: Tensor) (shape: int list) =
        if t.Shape <> Array.ofList shape then
            invalidArg arg (sprintf "%s: %s must be %s, received %s" fn arg (Shape.text (Array.ofList shape)) (Shape.text t.Shape))
    want "faceUVs" faceUVs [ f; 3; 2 ]
    want "pose.Rotation" pose.Rotation [ n; 3; 3 ]
    want "pose.Translation" pose.Translation [ n; 3 ]
    pose.Scale |> Option.iter (fun s -> want "pose.Scale" s [ n; 3 ])
    Shape.expect fn "uvImage" uvImage.Shape [ 4 ] [ 3; -1; -1 ]
    if uvImage.Size 0 <> n then
        invalidArg "uvImage" (sprintf "%s: uvImage must hold %d textures, received %s" fn n (Shape.text uvImage.Shape))
    want "background" background [ n; 3; size; size ]

let textured (settings: RasterSettings) (sigma: float) (pose: Pose) (vertices: Tensor) (faces: Tensor) (faceUVs: Tensor) (uvImage: Tensor) (background: Tensor) =
    if settings.Height <> settings.Width then
        invalidArg "settings" (sprintf "Render.textured: square images only, received %d x %d" settings.Height settings.Width)
    expectPosed "Render.textured" pose vertices faces faceUVs uvImage background settings.Width
    Scoped.run2 (fun () ->
        let ndc = Camera.projectNdc (unicornCamera settings.Width) pose vertices
        let texture, uvs = periodicTexture uvImage (faceUVs.cast vertices.Dtype)
        Renderer.texturedPerFace settings sigma ndc faces uvs texture background)

let hard (size: int) (supersample: int) (pose: Pose) (vertices: Tensor) (faces: Tensor) (faceUVs: Tensor) (uvImage: Tensor) (background: Tensor) =
    if size <= 0 then invalidArg "size" (sprintf "Render.hard: size must be positive, received %d" size)
    if supersample <= 0 then invalidArg "supersample" (sprintf "Render.hard: supersample must be positive, received %d" supersample)
    expectPosed "Render.hard" pose vertices faces faceUVs uvImage background size
    Scoped.run2 (fun () ->
        use _ = Autograd.noGrad ()
        let points = Camera.objectToCamera pose vertices
        let ndc = Camera.cameraToNdc (unicornCamera size) points
        let texture, uvs = periodicTexture uvImage (faceUVs.cast vertices.Dtype)
        let texture, background = texture.cast vertices.Dtype, background.cast vertices.Dtype
        let unlit = { Ambient = 1.0; Diffuse = 0.0; Direction = (0.0, 0.0, -1.0); TwoSided = false }
        // The kernel shares one atlas across its batch; each image has its own texture.
        let images, alphas =
            List.init (vertices.Size 0) (fun k ->
                let one (t: Tensor) = t.narrow (0, k, 1)
                Rasterizer.hardTextured supersample 0.1 unlit (one ndc) (one points) faces uvs (texture.select (0, k)) (one background))
            |> List.unzip
        Tensor.cat (images, 0), Tensor.cat (alphas, 0))
