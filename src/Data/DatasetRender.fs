module Reconstruct.Data.DatasetRender

open System
open System.IO
open System.Text
open System.Text.Json
open System.Threading
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render

type View =
    { Azimuth: float
      Elevation: float
      Roll: float
      Distance: float
      Scale: float
      ShiftX: float
      ShiftY: float }

let nmrView azimuth =
    { Azimuth = azimuth; Elevation = 30.0; Roll = 0.0; Distance = 2.732; Scale = 1.0; ShiftX = 0.0; ShiftY = 0.0 }

let multiViews = Array.init 24 (fun k -> nmrView (15.0 * float k))

let wildView (rng: SplitMix64) =
    { Azimuth = rng.Uniform(0.0, 360.0)
      Elevation = rng.Uniform(-10.0, 40.0)
      Roll = rng.Uniform(-10.0, 10.0)
      Distance = 2.732
      Scale = rng.Uniform(0.8, 1.2)
      ShiftX = rng.Uniform(-0.1, 0.1)
      ShiftY = rng.Uniform(-0.1, 0.1) }

let fovDegrees = 30.0

let supersample = 2

let light: HardLight = { Ambient = 0.45; Diffuse = 0.55; Direction = (-0.4, -0.6, -1.0); TwoSided = true }

let private zNear = 0.1

let frontAzimuth = 0.0

let symmetricAzimuth = 60.0

// Mostly from above, as objects on the ground are photographed, and a little from below; the
// top of the range stays far from a view straight down, where a side-to-side flip is no longer
// the object's mirror symmetry as Unsup3d's flip assumes.
let symmetricElevation = -10.0, 30.0

let symmetricFill = 0.8, 0.9

let depthScale = 1e-4

let randomLight (rng: SplitMix64) : HardLight =
    // cos θ uniform gives directions uniform over the cone's solid angle
    let cosTheta = rng.Uniform(cos (Math.PI / 4.0), 1.0)
    let phi = rng.Uniform(0.0, 2.0 * Math.PI)
    let sinTheta = sqrt (1.0 - cosTheta * cosTheta)
    let ambient = rng.Uniform(0.2, 0.6)
    let diffuse = rng.Uniform(0.4, 0.8)
    { Ambient = ambient; Diffuse = diffuse; Direction = (sinTheta * cos phi, sinTheta * sin phi, -cosTheta); TwoSided = false }

/// Each view's orbit pose, scale (B, 1, 1) and shift (B, 1, 3), float64.
let private placement (views: View[]) =
    let b = views.Length
    let col (f: View -> float) = Tensor.ofArray (views |> Array.map f)
    let radians (f: View -> float) = col (fun v -> Rotation.radians (f v))
    let pose = Camera.orbit (radians (fun v -> v.Azimuth)) (radians (fun v -> v.Elevation)) (radians (fun v -> v.Roll)) (col (fun v -> v.Distance))
    let shiftX = col (fun v -> v.ShiftX)
    let shift = Tensor.stack ([ shiftX; col (fun v -> v.ShiftY); shiftX.zerosLike () ], -1)
    pose, (col (fun v -> v.Scale)).reshape [ b; 1; 1 ], shift.unsqueeze 1

let cameraPoints (views: View[]) (vertices: Tensor) =
    Scoped.run (fun () ->
        let pose, scale, shift = placement views
        (Camera.objectToCamera pose (vertices.cast(Float64).unsqueeze(0) * scale) + shift).cast Float32)

let objectPoints (views: View[]) (points: Tensor) =
    Scoped.run (fun () ->
        let pose, scale, shift = placement views
        (Camera.cameraToObject pose (points.cast Float64 - shift) / scale).cast Float32)

let symmetricView (rng: SplitMix64) (vertices: Tensor) =
    let azimuth = frontAzimuth + rng.Uniform(-symmetricAzimuth, symmetricAzimuth)
    let elevation = rng.Uniform symmetricElevation
    let fill = rng.Uniform symmetricFill
    let fx, _ = Camera.focalNdc (Camera.square fovDegrees 1)
    let mutable view = { nmrView azimuth with Elevation = elevation }
    // Perspective makes the extent depend on scale and shift together, so step to the fixed
    // point: each step rescales the box to the target and moves its centre to the image centre.
    for _ in 1..12 do
        use scope = DisposalScope.Open()
        let p = (cameraPoints [| view |] vertices).ToFloat32s()
        let n = p.Length / 3
        let xs = Array.init n (fun k -> fx * float p.[3 * k] / float p.[3 * k + 2])
        let ys = Array.init n (fun k -> fx * float p.[3 * k + 1] / float p.[3 * k + 2])
        let x0, x1, y0, y1 = Array.min xs, Array.max xs, Array.min ys, Array.max ys
        let extent = max (x1 - x0) (y1 - y0)
        let cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        view <-
            { view with
                Scale = view.Scale * 2.0 * fill / extent
                ShiftX = view.ShiftX - cx * view.Distance / fx
                ShiftY = view.ShiftY - cy * view.Distance / fx }
    view

let private project (mesh: TexturedMesh) (views: View[]) =
    use scope = DisposalScope.Open()
    let points = cameraPoints views mesh.Vertices
    // the focal length in NDC depends on the field of view and the aspect only
    let ndc = Camera.cameraToNdc (Camera.square fovDegrees 1) points
    scope.MoveOut points, scope.MoveOut ndc

let render (size: int) (mesh: TexturedMesh) (views: View[]) (background: Tensor) =
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    if background.Shape <> [| views.Length; 3; size; size |] then
        invalidArg "background" (sprintf "DatasetRender.render: background must have shape [%d; 3; %d; %d], received %A" views.Length size size background.Shape)
    let cameraPoints, ndc = project mesh views
    let image, alpha =
        Rasterizer.hardTextured supersample zNear light ndc cameraPoints mesh.Faces mesh.FaceUVs mesh.Atlas (background.cast Float32)
    scope.MoveOut image, scope.MoveOut alpha

let renderLit (size: int) (mesh: TexturedMesh) (views: View[]) (lights: HardLight[]) (background: Tensor) =
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    if lights.Length <> views.Length then
        invalidArg "lights" (sprintf "DatasetRender.renderLit: one light per view, received %d lights for %d views" lights.Length views.Length)
    if background.Shape <> [| views.Length; 3; size; size |] then
        invalidArg "background" (sprintf "DatasetRender.renderLit: background must have shape [%d; 3; %d; %d], received %A" views.Length size size background.Shape)
    let cameraPoints, ndc = project mesh views
    let one (t: Tensor) k = (t.narrow (0, k, 1)).contiguous ()
    // The kernel takes one light per call, so each view is its own batch of one.
    let parts =
        [ for k in 0 .. views.Length - 1 ->
              Rasterizer.hardTextured supersample zNear lights.[k] (one ndc k) (one cameraPoints k) mesh.Faces mesh.FaceUVs mesh.Atlas (one (background.cast Float32) k) ]
    scope.MoveOut(Tensor.cat (List.map fst parts, 0)), scope.MoveOut(Tensor.cat (List.map snd parts, 0))

let renderDepthOf (size: int) (vertices: Tensor) (faces: Tensor) (views: View[]) =
    use scope = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let ndc = Camera.cameraToNdc (Camera.square fovDegrees 1) (cameraPoints views vertices)
    let settings =
        { RasterSettings.Defaults with
            Height = size
            Width = size
            FacesPerPixel = 1
            BlurRadius = 0.0
            PerspectiveCorrect = true
            ZNear = zNear }
    let fragments = Rasterizer.rasterize settings ndc faces
    let covered = (fragments.PixToFace.squeeze 3).ge 0.0
    let z = fragments.Zbuf.squeeze 3
    scope.MoveOut(Tensor.where (covered, z, z.zerosLike ()))

let renderDepth (size: int) (mesh: TexturedMesh) (views: View[]) = renderDepthOf size mesh.Vertices mesh.Faces views

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

let instanceStem (instanceId: string) = instanceId.Replace('/', '_').Replace('#', '_').Replace(' ', '_')

[<RequireQualifiedAccess>]
type GroundTruth =
    | File of path: string
    | Written

type Instance = { Mesh: TexturedMesh; Category: string; Split: string; GroundTruth: GroundTruth }

let instance mesh category split groundTruth =
    { Mesh = mesh; Category = category; Split = split; GroundTruth = GroundTruth.File groundTruth }

type Protocol =
    | MultiView
    | Wild of size: int
    | Symmetric of size: int

    member p.Name =
        match p with
        | MultiView -> "multiview"
        | Wild size -> sprintf "wild%d" size
        | Symmetric size -> sprintf "symmetric%d" size

let viewStream (seed: uint64) (protocol: Protocol) (instanceId: string) =
    Seed.stream (Seed.child seed protocol.Name) instanceId

type BenchmarkOptions = { Protocols: Protocol list; Seed: uint64; WildViews: int }

type BenchmarkSummary = { Instances: int; Images: (Protocol * int) list }

let backgroundPool = 8

// ---------------------------------------------------------------------- the folder swapped in

/// What a benchmark folder holds; anything else means `root` is not one of ours.
let private isBenchmarkEntry (name: string) =
    let sized (prefix: string) = name.StartsWith prefix && name.Length > prefix.Length && name.Substring prefix.Length |> Seq.forall Char.IsDigit
    name = "benchmark.json" || name = "models" || name = "multiview" || sized "wild" || sized "symmetric"

// ---------------------------------------------------------------------- streaming the instances

/// The images and index rows of one instance under one protocol.
let private renderInstance (root: string) (staging: string) (options: BenchmarkOptions) (textures: Tensor list) (index: TextWriter) (inst: Instance) (protocol: Protocol) =
    use scope = DisposalScope.Open()
    let stem = instanceStem inst.Mesh.Info.Id
    let dir = Path.Combine(staging, protocol.Name, inst.Category, stem)
    Directory.CreateDirectory dir |> ignore
    let size, views, backgrounds, lights =
        match protocol with
        | MultiView -> 64, multiViews, Tensor.ones [ multiViews.Length; 3; 64; 64 ], None
        | Wild size ->
            let rng = viewStream options.Seed protocol inst.Mesh.Info.Id
            let views = Array.init options.WildViews (fun _ -> wildView rng)
            size, views, Tensor.stack [ for _ in views -> randomBackground rng size textures ], None
        | Symmetric size ->
            let rng = viewStream options.Seed protocol inst.Mesh.Info.Id
            let drawn = Array.init options.WildViews (fun _ -> let view = symmetricView rng inst.Mesh.Vertices in view, randomLight rng)
            size, Array.map fst drawn, Tensor.ones [ drawn.Length; 3; size; size ], Some(Array.map snd drawn)
    // Paths in the index are those of the finished benchmark: relative to `root/<protocol>`.
    let protocolRoot = Path.Combine(root, protocol.Name)
    let groundTruth =
        match inst.GroundTruth with
        | GroundTruth.File path -> Path.GetFullPath path
        | GroundTruth.Written -> Path.Combine(root, "models", stem + ".obj")
    let rgb, alpha =
        match lights with
        | None -> render size inst.Mesh views backgrounds
        | Some lights -> renderLit size inst.Mesh views lights backgrounds
    let depth = lights |> Option.map (fun _ -> renderDepth size inst.Mesh views)
    for k in 0 .. views.Length - 1 do
        let image = Path.Combine(inst.Category, stem, sprintf "view_%02d.png" k)
        Image.save (Path.Combine(staging, protocol.Name, image)) (match protocol with MultiView | Symmetric _ -> Tensor.cat ([ rgb.[k]; alpha.[k] ], 0) | Wild _ -> rgb.[k])
        let v = views.[k]
        let row =
            {| image = image
               instance = inst.Mesh.Info.Id
               category = inst.Category
               split = inst.Split
               mesh = Path.GetRelativePath(protocolRoot, groundTruth)
               camera = {| fov_degrees = fovDegrees; width = size; height = size |}
               view = {| azimuth = v.Azimuth; elevation = v.Elevation; roll = v.Roll; distance = v.Distance; scale = v.Scale; shift = [| v.ShiftX; v.ShiftY |] |} |}
        match lights, depth with
        | Some lights, Some depth ->
            let depthImage = Path.Combine(inst.Category, stem, sprintf "depth_%02d.png" k)
            DepthMap.save (Path.Combine(staging, protocol.Name, depthImage)) depthScale depth.[k]
            let l = lights.[k]
            let x, y, z = l.Direction
            let row =
                {| row with
                    light = {| direction = [| x; y; z |]; ambient = l.Ambient; diffuse = l.Diffuse |}
                    depth = {| image = depthImage; scale = depthScale |} |}
            index.Write(JsonSerializer.Serialize row)
        | _ -> index.Write(JsonSerializer.Serialize row)
        index.Write '\n'
    views.Length

let private checkOptions (options: BenchmarkOptions) =
    let fail (message: string) = invalidArg "options" ("DatasetRender.writeBenchmark: " + message)
    if options.Protocols.IsEmpty then fail "no protocol to render"
    match options.Protocols |> List.countBy (fun p -> p.Name) |> List.tryFind (fun (_, n) -> n > 1) with
    | Some (name, _) -> fail (sprintf "protocol %s given twice" name)
    | None -> ()
    for p in options.Protocols do
        match p with
        | Wild size when size < 8 -> fail (sprintf "wild image size must be >= 8, received %d" size)
        | Wild _ when options.WildViews < 1 -> fail (sprintf "wild views must be >= 1, received %d" options.WildViews)
        | Symmetric size when size < 8 -> fail (sprintf "symmetric image size must be >= 8, received %d" size)
        | Symmetric _ when options.WildViews < 1 -> fail (sprintf "symmetric views must be >= 1, received %d" options.WildViews)
        | _ -> ()

/// Refuses a `root` that is a file or holds anything a benchmark does not: it would be replaced.
let private checkReplaceable (root: string) =
    if File.Exists root then raise (Files.FileWriteError(root, "is a file, not a benchmark folder"))
    if Directory.Exists root then
        match Directory.GetFileSystemEntries root |> Array.map Path.GetFileName |> Array.tryFind (isBenchmarkEntry >> not) with
        | Some other -> raise (Files.FileWriteError(root, sprintf "holds '%s', which is not part of a benchmark; refusing to replace the folder (move it away or write elsewhere)" other))
        | None -> ()

/// Streams `instances` into `staging` (laid out as `root` will be): returns the number of
/// instances and of images per protocol.
let private writeInstances (root: string) (staging: string) (options: BenchmarkOptions) (cancel: CancellationToken) (progress: int -> unit) (instances: seq<Instance>) =
    let protocols = Array.ofList options.Protocols
    let hasWild = protocols |> Array.exists (function Wild _ -> true | MultiView | Symmetric _ -> false)
    let images = Array.zeroCreate<int> protocols.Length
    // One index per protocol, appended to as instances finish: the folder is swapped in whole,
    // so the index needs no atomic write of its own, and no row waits in memory.
    let indexes =
        protocols
        |> Array.map (fun p ->
            Directory.CreateDirectory(Path.Combine(staging, p.Name)) |> ignore
            new StreamWriter(Path.Combine(staging, p.Name, "index.jsonl"), false, UTF8Encoding false))
    try
        // Host copies of the atlases of the instances before: cheap to keep, made tensors again
        // inside each instance's scope.
        let pool = Collections.Generic.Queue<float32[] * int * int>()
        use e = instances.GetEnumerator()
        // One instance, taken from the sequence inside its own disposal scope, so that all its
        // tensors (the mesh too, when the sequence makes it) are freed before the next.
        let next () =
            use scope = DisposalScope.Open()
            let more = e.MoveNext()
            if more then
                let inst = e.Current
                try
                    if inst.GroundTruth = GroundTruth.Written then
                        let models = Directory.CreateDirectory(Path.Combine(staging, "models")).FullName
                        TexturedMesh.writeObj (Path.Combine(models, instanceStem inst.Mesh.Info.Id + ".obj")) inst.Mesh
                    let textures = if hasWild then [ for data, h, w in pool -> Tensor.ofArray (data, [ 3; h; w ]) ] else []
                    for k in 0 .. protocols.Length - 1 do
                        cancel.ThrowIfCancellationRequested()
                        images.[k] <- images.[k] + renderInstance root staging options textures indexes.[k] inst protocols.[k]
                    if hasWild then
                        let atlas = inst.Mesh.Atlas
                        pool.Enqueue((atlas.ToFloat32s(), atlas.Size 1, atlas.Size 2))
                        if pool.Count > backgroundPool then pool.Dequeue() |> ignore
                finally
                    (inst.Mesh :> IDisposable).Dispose()
            more
        let mutable count = 0
        cancel.ThrowIfCancellationRequested()
        while next () do
            count <- count + 1
            progress count
            cancel.ThrowIfCancellationRequested()
        for w in indexes do
            w.Flush()
            (w.BaseStream :?> FileStream).Flush true
        count, images
    finally
        for w in indexes do w.Dispose()

let writeBenchmark (root: string) (options: BenchmarkOptions) (cancel: CancellationToken) (progress: int -> unit) (instances: seq<Instance>) =
    checkOptions options
    let root = Path.TrimEndingDirectorySeparator(Path.GetFullPath root)
    checkReplaceable root
    // The benchmark replaces the folder as a whole: a run that fails or is interrupted leaves
    // the previous one as it was, a smaller or different run leaves nothing of it behind.
    Files.replaceFolder root (fun staging ->
        let count, images = writeInstances root staging options cancel progress instances
        let counts = List.zip options.Protocols (List.ofArray images)
        let manifest =
            {| seed = options.Seed
               wild_views = options.WildViews
               instances = count
               protocols = [| for p, n in counts -> {| name = p.Name; images = n |} |] |}
        Files.writeTextAtomically (Path.Combine(staging, "benchmark.json")) (JsonSerializer.Serialize(manifest, JsonSerializerOptions(WriteIndented = true)))
        { Instances = count; Images = counts })

let writeOnce (root: string) (waiting: unit -> unit) (write: unit -> unit) =
    let root = Path.TrimEndingDirectorySeparator(Path.GetFullPath root)
    let lockFile = Path.Combine(Path.GetDirectoryName root, sprintf ".%s.lock" (Path.GetFileName root))
    Files.withLock lockFile waiting (fun () -> if not (File.Exists(Path.Combine(root, "benchmark.json"))) then write ())

/// The shapes of (category, seed, count) whose split `keep` accepts, each made only when the
/// sequence reaches it (a shape of another split is never made).
let private proceduralWhere (category: string) (seed: uint64) (count: int) (keep: string -> bool) : seq<Instance> =
    if count < 0 then invalidArg "count" (sprintf "DatasetRender.proceduralInstances: count must be >= 0, received %d" count)
    Procedural.id category seed 0 |> ignore // an unknown category fails now, not at the first shape
    let ids = List.init count (Procedural.id category seed)
    let splits = Splits.assign seed ids |> dict
    seq {
        for k in 0 .. count - 1 do
            let split = splits.[Procedural.id category seed k].Name
            if keep split then
                yield { Mesh = Procedural.mesh category seed k; Category = category; Split = split; GroundTruth = GroundTruth.Written }
    }

let proceduralInstances (category: string) (seed: uint64) (count: int) : seq<Instance> =
    proceduralWhere category seed count (fun _ -> true)

let proceduralSplit (category: string) (seed: uint64) (count: int) (split: string) : seq<Instance> =
    proceduralWhere category seed count ((=) split)
