/// Dataset renders with ground truth: textured models rendered hard (one face per pixel, 2×
/// supersampled, ambient + diffuse light) under two protocols, stored as PNG plus one JSONL index.
///   multi-view  the NMR renders of SoftRas/SSR/UNICORN: 24 views, elevation 30°, azimuth every
///               15°, distance 2.732, fov 30°, 64×64, white background, RGBA.
///   wild        single views: azimuth 0–360°, elevation −10…40°, roll ±10°, scale and
///               translation jitter, random backgrounds, 64×64 or 128×128.
/// Masks and cameras are ground truth for evaluation and supervised baselines only.
module Reconstruct.Data.DatasetRender

open System
open System.IO
open System.Text
open System.Text.Json
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render

/// One camera around the object. Angles in degrees (as in the index files).
type View =
    { Azimuth: float
      Elevation: float
      Roll: float
      Distance: float
      /// Uniform scale of the object before posing.
      Scale: float
      /// Shift of the object in the camera's x and y (object units).
      ShiftX: float
      ShiftY: float }

let nmrView azimuth =
    { Azimuth = azimuth; Elevation = 30.0; Roll = 0.0; Distance = 2.732; Scale = 1.0; ShiftX = 0.0; ShiftY = 0.0 }

/// The 24 NMR views: azimuth 0, 15, ..., 345.
let multiViews = Array.init 24 (fun k -> nmrView (15.0 * float k))

/// A random in-the-wild view drawn from `rng`.
let wildView (rng: SplitMix64) =
    { Azimuth = rng.Uniform(0.0, 360.0)
      Elevation = rng.Uniform(-10.0, 40.0)
      Roll = rng.Uniform(-10.0, 10.0)
      Distance = 2.732
      Scale = rng.Uniform(0.8, 1.2)
      ShiftX = rng.Uniform(-0.1, 0.1)
      ShiftY = rng.Uniform(-0.1, 0.1) }

let fovDegrees = 30.0

/// Supersampling of dataset renders: edges get 4 coverage levels per pixel.
let supersample = 2

/// The light of dataset renders, from above-left of the camera. Two-sided: many real models
/// are not closed or consistently wound, so the sign of a normal is not trusted.
let light: HardLight = { Ambient = 0.45; Diffuse = 0.55; Direction = (-0.4, -0.6, -1.0); TwoSided = true }

let private zNear = 0.1

/// Object points (V, 3) placed at each view (scale, orbit, shift in the camera's x and y):
/// (B, V, 3) float32 in the camera frame, a new tensor of the current disposal scope. Posed
/// in float64, so every view places the points alike to the last float32 bit.
let cameraPoints (views: View[]) (vertices: Tensor) =
    Scoped.run (fun () ->
        let b = views.Length
        let col (f: View -> float) = Tensor.ofArray (views |> Array.map f)
        let radians (f: View -> float) = col (fun v -> Rotation.radians (f v))
        let pose = Camera.orbit (radians (fun v -> v.Azimuth)) (radians (fun v -> v.Elevation)) (radians (fun v -> v.Roll)) (col (fun v -> v.Distance))
        let scaled = vertices.cast(Float64).unsqueeze(0) * (col (fun v -> v.Scale)).reshape [ b; 1; 1 ]
        let shiftX = col (fun v -> v.ShiftX)
        let shift = Tensor.stack ([ shiftX; col (fun v -> v.ShiftY); shiftX.zerosLike () ], -1)
        (Camera.objectToCamera pose scaled + shift.unsqueeze 1).cast Float32)

/// `mesh` posed at each view: camera-frame points and their projection, both (B, V, 3) float32.
let private project (mesh: TexturedMesh) (views: View[]) =
    use scope = DisposalScope.Open()
    let points = cameraPoints views mesh.Vertices
    // the focal length in NDC depends on the field of view and the aspect only
    let ndc = Camera.cameraToNdc (Camera.square fovDegrees 1) points
    scope.MoveOut points, scope.MoveOut ndc

/// Renders `mesh` at each view (hard: one face per subpixel, `supersample`× supersampled,
/// lit by `light`) through the fused kernel `Rasterizer.hardTextured`.
/// background: (B, 3, H, W) with H = W = size -> rgb (B, 3, H, W) composited over the
/// background, alpha (B, 1, H, W) (fractional at edges from the supersampling); float32.
let render (size: int) (mesh: TexturedMesh) (views: View[]) (background: Tensor) =
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    if background.Shape <> [| views.Length; 3; size; size |] then
        invalidArg "background" (sprintf "DatasetRender.render: background must have shape [%d; 3; %d; %d], received %A" views.Length size size background.Shape)
    let cameraPoints, ndc = project mesh views
    let image, alpha =
        Rasterizer.hardTextured supersample zNear light ndc cameraPoints mesh.Faces mesh.FaceUVs mesh.Atlas (background.cast Float32)
    scope.MoveOut image, scope.MoveOut alpha

/// `render` composed from tensor ops (rasterize with K = 1 -> UVs -> `Shading.sampleTexture` ->
/// two-sided `Shading.diffuse` -> `Blending.nearest` -> avgPool2d -> composite): the reference
/// the fused kernel is tested and benchmarked against. Same shapes as `render`.
let renderComposed (size: int) (mesh: TexturedMesh) (views: View[]) (background: Tensor) =
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let b = views.Length
    let cameraPoints, ndc = project mesh views
    let settings =
        { RasterSettings.Defaults with
            Height = size * supersample
            Width = size * supersample
            FacesPerPixel = 1
            BlurRadius = 0.0
            PerspectiveCorrect = true
            ZNear = zNear }
    let fragments = Rasterizer.rasterize settings ndc mesh.Faces
    let hs = size * supersample
    let pixels = b * hs * hs
    let faceIndex = (fragments.PixToFace.clamp(min = 0.0).cast Int64).reshape [ pixels ]
    let bary = fragments.Bary.reshape [ pixels; 3; 1 ]
    // UVs per pixel from the face corners' UVs (the atlas layout of TexturedMesh).
    let uv = (mesh.FaceUVs.indexSelect (0, faceIndex) * bary).sum(1).reshape [ b; hs; hs; 1; 2 ]
    let atlas = mesh.Atlas.unsqueeze(0).expand [ b; 3; mesh.Atlas.Size 1; mesh.Atlas.Size 2 ]
    let texels = Shading.sampleTexture (atlas.contiguous ()) uv // (B,Hs,Ws,1,3)
    let normals = Mesh.faceNormals cameraPoints mesh.Faces // (B,F,3)
    let pixelNormals = normals.gather(1, (faceIndex.reshape [ b; hs * hs; 1 ]).expand [ b; hs * hs; 3 ]).reshape [ b; hs; hs; 1; 3 ]
    let shade (normals: Tensor) = Shading.diffuse light.Ambient light.Diffuse light.Direction texels normals
    let lit = if light.TwoSided then Tensor.maximum (shade pixelNormals, shade (pixelNormals * -1.0)) else shade pixelNormals
    let rgb, alpha = Blending.nearest fragments (lit.clamp (0.0, 1.0))
    let rgbSmall = Functional.avgPool2d supersample supersample 0 rgb
    let alphaSmall = Functional.avgPool2d supersample supersample 0 alpha
    let image = rgbSmall + (1.0 - alphaSmall) * background
    scope.MoveOut(image.clamp (0.0, 1.0)), scope.MoveOut alphaSmall

/// A random background (3, H, W): a flat colour, a vertical/horizontal gradient, smooth noise,
/// or a crop of another texture (`textures`, any size ≥ 8 px).
let randomBackground (rng: SplitMix64) (size: int) (textures: Tensor list) =
    use scope = DisposalScope.Open()
    // A uniform integer in [0, n); 0 without a draw when n < 2 (a crop as large as its texture has one place).
    let below (n: int) = if n < 2 then 0 else rng.Int(0, n - 1)
    let colour () = Tensor.ofArray ([| float32 (rng.Float()); float32 (rng.Float()); float32 (rng.Float()) |], [ 3; 1; 1 ])
    let kind = below (if textures.IsEmpty then 3 else 4)
    let image =
        match kind with
        | 0 -> (colour ()).expand([ 3; size; size ]).contiguous ()
        | 1 ->
            let ramp = Tensor.linspace (0.0, 1.0, size)
            let t = if rng.Bool 0.5 then ramp.reshape [ 1; size; 1 ] else ramp.reshape [ 1; 1; size ]
            (colour () * (1.0 - t) + colour () * t).expand([ 3; size; size ]).contiguous ()
        | 2 ->
            use g = new Generator(rng.Next())
            let coarse = Tensor.rand ([ 1; 3; 4 + below 8; 4 + below 8 ], g)
            (Functional.interpolate Interpolation.Bilinear false (Resize.Size(size, size)) coarse).squeeze 0
        | _ ->
            let source = textures.[below textures.Length]
            let h, w = source.Size 1, source.Size 2
            let crop = max 8 (min (min h w) (size + below size))
            let top, left = below (h - crop + 1), below (w - crop + 1)
            let patch = source.narrow(1, top, crop).narrow (2, left, crop)
            (Functional.interpolate Interpolation.Bilinear false (Resize.Size(size, size)) (patch.unsqueeze 0)).squeeze 0
    scope.MoveOut(image.clamp (0.0, 1.0))

/// A model id as a file or folder name ("Scopia#chair 3" -> "Scopia_chair_3").
let instanceStem (instanceId: string) = instanceId.Replace('/', '_').Replace('#', '_').Replace(' ', '_')

/// One instance to render: its model, split and where its ground truth lives.
type Instance = { Mesh: TexturedMesh; Category: string; Split: string; GroundTruth: string }

let instance mesh category split groundTruth =
    { Mesh = mesh; Category = category; Split = split; GroundTruth = groundTruth }

type Protocol =
    | MultiView
    | Wild of size: int

    member p.Name =
        match p with
        | MultiView -> "multiview"
        | Wild size -> sprintf "wild%d" size

/// The stream of an instance's wild views and backgrounds: node `instanceId` below node
/// `protocol.Name` of the experiment's seed, so an instance gets the same views whatever else
/// is rendered with it, and the two wild sizes get different ones.
let viewStream (seed: uint64) (protocol: Protocol) (instanceId: string) =
    Seed.stream (Seed.child seed protocol.Name) instanceId

/// Renders every instance under `protocol` into `outDir/<protocol>/<category>/<instance>/*.png`
/// and writes one JSON line per image to `outDir/<protocol>/index.jsonl` (atomically, once
/// every image is written). Wild views and backgrounds draw from `viewStream seed`: the same
/// seed gives the same files, byte for byte. Returns the number of images.
let renderDataset (outDir: string) (protocol: Protocol) (seed: uint64) (viewsPerInstance: int) (instances: Instance list) =
    let root = Path.Combine(outDir, protocol.Name)
    Directory.CreateDirectory root |> ignore
    let textures = instances |> List.map (fun i -> i.Mesh.Atlas)
    let index = StringBuilder()
    let mutable images = 0
    for inst in instances do
        use scope = DisposalScope.Open()
        let dir = Path.Combine(root, inst.Category, instanceStem inst.Mesh.Info.Id)
        Directory.CreateDirectory dir |> ignore
        let size, views, backgrounds =
            match protocol with
            | MultiView ->
                64, multiViews, Tensor.ones [ multiViews.Length; 3; 64; 64 ]
            | Wild size ->
                let rng = viewStream seed protocol inst.Mesh.Info.Id
                let views = Array.init viewsPerInstance (fun _ -> wildView rng)
                size, views, Tensor.stack [ for _ in views -> randomBackground rng size textures ]
        let rgb, alpha = render size inst.Mesh views backgrounds
        for k in 0 .. views.Length - 1 do
            let file = Path.Combine(dir, sprintf "view_%02d.png" k)
            let image = match protocol with MultiView -> Tensor.cat ([ rgb.[k]; alpha.[k] ], 0) | Wild _ -> rgb.[k]
            Image.save file image
            let v = views.[k]
            let row =
                {| image = Path.GetRelativePath(root, file)
                   instance = inst.Mesh.Info.Id
                   category = inst.Category
                   split = inst.Split
                   mesh = Path.GetRelativePath(root, inst.GroundTruth)
                   camera = {| fov_degrees = fovDegrees; width = size; height = size |}
                   view = {| azimuth = v.Azimuth; elevation = v.Elevation; roll = v.Roll; distance = v.Distance; scale = v.Scale; shift = [| v.ShiftX; v.ShiftY |] |} |}
            index.Append(JsonSerializer.Serialize row).Append('\n') |> ignore
            images <- images + 1
    Files.writeTextAtomically (Path.Combine(root, "index.jsonl")) (index.ToString())
    images

/// `count` procedural shapes of `category` from `seed` as benchmark instances, like the
/// prepared real models: the shapes of `Procedural.generate category seed`, split 70/10/20 by
/// `Splits.assign seed` (the rule of the real models), ground truth written as OBJ + MTL + PNG to
/// `outDir/<category>/models/<instance>.obj`. Returns them in shape order; the caller
/// disposes their meshes.
let proceduralInstances (outDir: string) (category: string) (seed: uint64) (count: int) : Instance list =
    let meshes = Procedural.generate category seed count
    let splits = Splits.assign seed (meshes |> List.map (fun m -> m.Info.Id)) |> dict
    let models = Path.Combine(outDir, category, "models")
    Directory.CreateDirectory models |> ignore
    [ for m in meshes ->
          let obj = Path.Combine(models, instanceStem m.Info.Id + ".obj")
          TexturedMesh.writeObj obj m
          instance m category splits.[m.Info.Id].Name obj ]
