module Reconstruct.App.Predict

open System
open System.Diagnostics
open System.IO
open System.Text
open System.Text.Json
open System.Threading
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Train

module Pipeline = Reconstruct.Pipelines.Unicorn

exception ModelError of path: string * problem: string
    with override this.Message = sprintf "model %s: %s" this.path this.problem

exception InputError of path: string * problem: string
    with override this.Message = sprintf "%s: %s" this.path this.problem

[<Literal>]
let ModelFile = "model.safetensors"

[<Literal>]
let MinimumSide = Photos.MinimumSide

type Loaded =
    { Model: Pipeline.Model
      Source: string
      Description: string }

    interface IDisposable with
        member l.Dispose() = Pipeline.dispose l.Model

let private inv = Globalization.CultureInfo.InvariantCulture

// ------------------------------------------------------------------------------ models

/// Prediction needs neither the perceptual network nor the neighbour memory (50 MB at 1024).
let private forPrediction (config: Pipeline.Config) =
    { config with Perceptual = Pipeline.PerceptualKind.Off; MemorySize = 1 }

let private isMemory (name: string) = name.StartsWith "memory."

/// The tensors that make a prediction: parameters and buffers, the neighbour memory aside.
let private weightsOf (model: Pipeline.Model) =
    Pipeline.parameters model @ (Pipeline.buffers model |> List.filter (fun (n, _) -> not (isMemory n)))

/// Copies the file's tensors into the model (casting float16 up), after checking every name
/// and shape; a training checkpoint's optimiser, generator and neighbour-memory tensors are
/// not weights and stay unread.
let private fill (path: string) (model: Pipeline.Model) =
    try Checkpoint.restoreWeights path (weightsOf model) isMemory |> ignore
    with Checkpoint.CheckpointError (_, problem) -> raise (ModelError(path, problem))

let private create (config: Pipeline.Config) =
    use generator = new Generator(0UL)
    Pipeline.create generator (forPrediction config)

let private shipped (path: string) : Loaded =
    let metadata =
        try Checkpoint.readMetadata path
        with Checkpoint.CheckpointError (_, problem) -> raise (ModelError(path, problem))
    if metadata.Pipeline <> Experiments.Unicorn.pipelineName then
        raise (ModelError(path, sprintf "written by pipeline '%s'; predict takes '%s' models" metadata.Pipeline Experiments.Unicorn.pipelineName))
    // A model shipped before a field was added to the configuration reads with the field's
    // default (the fields added so far are training weights, which prediction does not use).
    let config, _ =
        try Config.ofJsonOver<Pipeline.Config> Experiments.Unicorn.baseline.Method.Pipeline path metadata.Config
        with ConfigError (_, problem) -> raise (ModelError(path, "its configuration does not read: " + problem))
    let model = create config
    try
        fill path model
        let name = metadata.Extra.TryFind "name" |> Option.defaultValue (Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath path)))
        let from = metadata.Extra.TryFind "source_run" |> Option.map (sprintf ", trained in %s") |> Option.defaultValue ""
        { Model = model; Source = path; Description = sprintf "%s: UNICORN, %d iteration%s%s" name metadata.Step (if metadata.Step = 1L then "" else "s") from }
    with _ ->
        Pipeline.dispose model
        reraise ()

/// The checkpoint a run's predictions come from: the best one when the run kept it.
let private runCheckpoint (runDir: string) =
    let best = Path.Combine(runDir, Trainer.CheckpointsFolder, Trainer.BestCheckpointFile)
    if File.Exists best then Some best else Trainer.lastCheckpoint runDir

let private fromRun (runDir: string) : Loaded =
    let configPath = Path.Combine(runDir, Trainer.ConfigFile)
    let pipeline =
        try Trainer.pipelineOf runDir
        with ConfigError (_, problem) -> raise (ModelError(configPath, problem))
    if pipeline <> Experiments.Unicorn.pipelineName then
        raise (ModelError(runDir, sprintf "a '%s' run; predict takes '%s' models" pipeline Experiments.Unicorn.pipelineName))
    let experiment =
        try Trainer.readExperiment<Experiments.Unicorn.Method> runDir
        with ConfigError (_, problem) -> raise (ModelError(configPath, problem))
    let checkpoint =
        match runCheckpoint runDir with
        | Some p -> p
        | None -> raise (ModelError(runDir, "the run has no checkpoint yet"))
    let model = create experiment.Method.Pipeline
    try
        fill checkpoint model
        let step = (Checkpoint.readMetadata checkpoint).Step
        { Model = model; Source = checkpoint; Description = sprintf "%s: UNICORN, iteration %d of %s" experiment.Name step runDir }
    with _ ->
        Pipeline.dispose model
        reraise ()

let modelFolders () =
    let fromEnvironment =
        match Environment.GetEnvironmentVariable "RECONSTRUCT_MODELS" with
        | null
        | "" -> []
        | dir -> [ Path.GetFullPath dir ]
    let above =
        let rec walk (dir: DirectoryInfo) =
            if isNull dir then [] else Path.Combine(dir.FullName, "models") :: walk dir.Parent
        walk (DirectoryInfo AppContext.BaseDirectory)
    fromEnvironment @ [ Path.GetFullPath "models" ] @ above |> List.distinct

let private shippedNames () =
    modelFolders ()
    |> List.filter Directory.Exists
    |> List.collect (fun dir -> Directory.GetDirectories dir |> Array.filter (fun d -> File.Exists(Path.Combine(d, ModelFile))) |> Array.map Path.GetFileName |> List.ofArray)
    |> List.distinct
    |> List.sort

let load (spec: string) : Loaded =
    if String.IsNullOrWhiteSpace spec then raise (ModelError("\"\"", "no model given (a shipped model's name, a model folder or a run folder)"))
    if File.Exists spec then
        if Path.GetExtension(spec).ToLowerInvariant() = ".safetensors" then shipped (Path.GetFullPath spec)
        else raise (ModelError(spec, "not a model file (a .safetensors file, a model folder or a run folder expected)"))
    elif Directory.Exists spec then
        let file = Path.Combine(spec, ModelFile)
        if File.Exists file then shipped (Path.GetFullPath file)
        elif File.Exists(Path.Combine(spec, Trainer.ConfigFile)) then fromRun (Path.GetFullPath spec)
        else raise (ModelError(spec, sprintf "neither a shipped model (no %s) nor a training run (no %s)" ModelFile Trainer.ConfigFile))
    else
        let isName = spec.IndexOfAny([| '/'; '\\' |]) < 0
        let found =
            if isName then modelFolders () |> List.map (fun dir -> Path.Combine(dir, spec, ModelFile)) |> List.tryFind File.Exists
            else None
        match found with
        | Some file -> shipped file
        | None ->
            let known = shippedNames ()
            let names = if known.IsEmpty then "none found" else String.Join(", ", known)
            raise (ModelError(spec, sprintf "no such file, folder or shipped model (shipped models: %s)" names))

let save (model: Pipeline.Model) (path: string) (name: string) (step: int64) (extra: (string * string) list) =
    if String.IsNullOrWhiteSpace name then invalidArg "name" "Predict.save: the model needs a name"
    use scope = DisposalScope.Open()
    let tensors = [ for n, t in weightsOf model -> n, (if t.Dtype = Float32 then t.cast Float16 else t) ]
    let metadata: Checkpoint.Metadata =
        { Pipeline = Experiments.Unicorn.pipelineName
          Config = Config.toJson model.Config
          Step = step
          Extra = Map.ofList ([ "name", name; "precision", "float16" ] @ extra) }
    Checkpoint.save path tensors metadata

let export (runDir: string) (outDir: string) (name: string) (results: string option) =
    if String.IsNullOrWhiteSpace name then invalidArg "name" "Predict.export: the model needs a name"
    use loaded = fromRun (Path.GetFullPath runDir)
    Directory.CreateDirectory outDir |> ignore
    let file = Path.Combine(outDir, ModelFile)
    let step = (Checkpoint.readMetadata loaded.Source).Step
    save loaded.Model file name step [ "source_run", runDir.Replace('\\', '/'); "source_checkpoint", Path.GetFileName loaded.Source ]
    let copy (source: string) (target: string) =
        if File.Exists source then
            Files.writeBytesAtomically (Path.Combine(outDir, target)) (File.ReadAllBytes source)
            [ Path.Combine(outDir, target) ]
        else []
    [ file ]
    @ copy (Path.Combine(runDir, Trainer.ConfigFile)) "config.json"
    @ copy (Path.Combine(runDir, Curves.FileName)) "curves.png"
    @ (match results with Some md -> copy md "metrics.md" | None -> [])

// ------------------------------------------------------------------------------ inputs

let prepareOver (background: float) (size: int) (path: string) : Tensor =
    try Photos.squareOver background size path
    with :? ImageFileException as e -> raise (InputError(path, e.Reason))

let prepare (size: int) (path: string) : Tensor = prepareOver 1.0 size path

// ------------------------------------------------------------------------------ outputs

type Options =
    { Model: string
      Input: string
      Out: string
      Ply: bool
      Glb: bool
      BatchSize: int }

    static member Defaults = { Model = "unicorn-chair"; Input = "."; Out = "predictions"; Ply = false; Glb = false; BatchSize = 16 }

type ItemOutcome =
    | Done of seconds: float
    | Skipped
    | Failed of reason: string

type Summary =
    { Items: (string * ItemOutcome) list
      Seconds: float
      SecondsPerImage: float
      Files: string list }

/// The mesh, its texture, the figure and the formats asked, then `last`, written last: its
/// presence with the others marks the image as done.
let private outputsEnding (last: string) (options: Options) (name: string) =
    [ yield name + ".obj"
      yield name + ".mtl"
      yield name + "_texture.png"
      yield name + ".png"
      if options.Ply then yield name + ".ply"
      if options.Glb then yield name + ".glb"
      yield name + last ]

let outputsOf (options: Options) (name: string) = outputsEnding ".pose.json" options name

/// The template's seam-aware corner UVs as a mesh's per-corner UV map.
let private uvMap (model: Pipeline.Model) : UVMap =
    let f = model.FaceUVs.Size 0
    { Coords = (model.FaceUVs.reshape [ 3 * f; 2 ]).contiguous ()
      Faces = (Tensor.arange (3 * f)).reshape [ f; 3 ] }

let private degrees (radians: float32) = float radians * 180.0 / Math.PI

/// input | reconstruction over its background | three novel views, each cell twice the model's
/// size. input, composite: (3, S, S); vertices (V, 3); texture (3, T, T).
let private figure (model: Pipeline.Model) (input: Tensor) (composite: Tensor) (vertices: Tensor) (texture: Tensor) (azimuthDeg: float) =
    use scope = DisposalScope.Open()
    let size = input.Size 1
    let mesh: FigureMesh = { Vertices = vertices; Faces = Pipeline.faces model; Appearance = Appearance.Texture(model.FaceUVs, texture) }
    let views = [| for a in [ 90.0; 180.0; 270.0 ] -> DatasetRender.nmrView (((azimuthDeg + a) % 360.0 + 360.0) % 360.0) |]
    let novel, _ = ReconstructionGrid.render size mesh views
    let cells = Tensor.cat ([ input.unsqueeze 0; composite.unsqueeze 0; novel ], 0)
    let grid = Image.grid 5 2 1.0 cells
    scope.MoveOut(Image.resizeWith ResizeMode.Nearest (2 * grid.Size 1, 2 * grid.Size 2) grid)

let private poseJson (input: string) (model: string) (p: Pipeline.Prediction) (k: int) =
    let host (t: Tensor) = (t.narrow (0, k, 1)).ToFloat32s()
    let rotation = host p.Rotation
    let probabilities = host p.Probabilities
    let options = JsonWriterOptions(Indented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping)
    use stream = new MemoryStream()
    do
        use w = new Utf8JsonWriter(stream, options)
        w.WriteStartObject()
        w.WriteString("input", input)
        w.WriteString("model", model)
        w.WriteString("camera", "X_camera = R · X_object + T; perspective, 30° field of view, camera looking down +z")
        w.WriteNumber("azimuth_deg", Math.Round(degrees (host p.Azimuth).[0], 3))
        w.WriteNumber("elevation_deg", Math.Round(degrees (host p.Elevation).[0], 3))
        w.WriteNumber("roll_deg", Math.Round(degrees (host p.Roll).[0], 3))
        w.WriteStartArray "rotation"
        for r in 0..2 do
            w.WriteStartArray()
            for c in 0..2 do
                w.WriteNumberValue(rotation.[3 * r + c])
            w.WriteEndArray()
        w.WriteEndArray()
        let vector (name: string) (values: float32[]) =
            w.WriteStartArray name
            for v in values do
                w.WriteNumberValue v
            w.WriteEndArray()
        vector "translation" (host p.Translation)
        vector "scale" (host p.Scale)
        vector "probabilities" probabilities
        w.WriteNumber("candidate", probabilities |> Array.indexed |> Array.maxBy snd |> fst)
        w.WriteEndObject()
    Encoding.UTF8.GetString(stream.ToArray()) + "\n"

/// Writes the files of image `k` of a batch's prediction, the pose last.
let private write (loaded: Loaded) (options: Options) (name: string) (input: string) (image: Tensor) (p: Pipeline.Prediction) (composite: Tensor) (k: int) =
    use scope = DisposalScope.Open()
    let model = loaded.Model
    let out (file: string) = Path.Combine(options.Out, file)
    let vertices = (p.Vertices.narrow (0, k, 1)).contiguous ()
    let texture = p.Texture.[k]
    let mesh = Mesh.withUVs (uvMap model) (Mesh.create vertices (Pipeline.faces model))
    MeshIO.writeObjTexturedAs (out (name + ".obj")) (name + "_texture.png") Image.encodePng texture mesh
    let azimuth = degrees ((p.Azimuth.narrow (0, k, 1)).ToFloat32s()).[0]
    use picture = figure model image composite.[k] vertices.[0] texture azimuth
    Image.save (out (name + ".png")) picture
    if options.Ply then MeshIO.writePly (out (name + ".ply")) true mesh
    if options.Glb then Gltf.writeGlb (out (name + ".glb")) Image.encodePng texture mesh
    Files.writeTextAtomically (out (name + ".pose.json")) (poseJson input loaded.Description p k)

/// What the batch run needs of a method: the input size, the files of an image, and a batch's
/// prediction written image by image (None: done; Some reason: that image failed).
type private Reconstructor =
    { Description: string
      Source: string
      Size: int
      /// The grey the model's training images were composited over (1: white).
      Background: float
      Outputs: string -> string list
      WriteBatch: (string * string * Tensor) list -> (string * string option) list
      Release: unit -> unit }

let private unicornReconstructor (options: Options) (loaded: Loaded) : Reconstructor =
    { Description = loaded.Description
      Source = loaded.Source
      Size = loaded.Model.Config.ImageSize
      Background = 1.0
      Outputs = outputsOf options
      WriteBatch =
        fun decoded ->
            use _ = Autograd.noGrad ()
            let images = Tensor.stack ([ for _, _, image in decoded -> image ], 0)
            let p = Pipeline.predict loaded.Model images
            let composite, _ = Pipeline.rerender loaded.Model p
            [ for k, (input, name, image) in List.indexed decoded ->
                  try
                      write loaded options name input image p composite k
                      input, None
                  with Files.FileWriteError (path, problem) -> input, Some(sprintf "%s: %s" path problem) ]
      Release = fun () -> (loaded :> IDisposable).Dispose() }

/// A training run folder's experiment and model at its best or last checkpoint, with the
/// checkpoint's path and a line for people ("<name>: <label>, iteration N of <run>"). Raises
/// ModelError naming the config or checkpoint that cannot be used; the model is disposed then.
let private loadRun<'Method, 'Model> (runDir: string) (label: string) (create: 'Method -> 'Model) (parameters: 'Model -> Layers.Named) (dispose: 'Model -> unit) =
    let configPath = Path.Combine(runDir, Trainer.ConfigFile)
    let experiment =
        try Trainer.readExperiment<'Method> runDir
        with ConfigError (_, problem) -> raise (ModelError(configPath, problem))
    let checkpoint =
        match runCheckpoint runDir with
        | Some p -> p
        | None -> raise (ModelError(runDir, "the run has no checkpoint yet"))
    let model = create experiment.Method
    try
        try Checkpoint.restoreWeights checkpoint (parameters model) (fun _ -> false) |> ignore
        with Checkpoint.CheckpointError (_, problem) -> raise (ModelError(checkpoint, problem))
        let step = (Checkpoint.readMetadata checkpoint).Step
        experiment, model, checkpoint, sprintf "%s: %s, iteration %d of %s" experiment.Name label step runDir
    with _ ->
        dispose model
        reraise ()

// ------------------------------------------------------------------------------ Unsup3d

module private Depth =
    module U = Reconstruct.Pipelines.Unsup3d

    let outputs (options: Options) (name: string) = outputsEnding ".view.json" options name

    let load (runDir: string) =
        let experiment, model, checkpoint, description =
            loadRun<Unsup3dExperiment.Method, U.Model> runDir "Unsup3d" (fun m -> (use g = new Generator(0UL) in U.create g m.Pipeline)) U.parameters U.dispose
        model, checkpoint, description, experiment.Method.Background

    /// Image k's canonical depth as a mesh: the S×S grid unprojected with the model's camera,
    /// turned to a y-up frame centred on the rotation centre (x, −y, c − z), so the surface faces
    /// +z, the viewer; per-vertex UVs at the texel centres of the albedo.
    let mesh (config: U.Config) (factors: U.Factors) (k: int) =
        let s = Reconstruct.Stages.Unsup3d.ImageSize
        let points = (Reconstruct.Stages.Unsup3d.depthToPoints config.Focal (factors.Depth.narrow (0, k, 1))).reshape [ 1; s * s; 3 ]
        let flip = Tensor.ofArray ([| 1.0f; -1.0f; -1.0f |], [ 1; 1; 3 ])
        let centre = Tensor.ofArray ([| 0.0f; 0.0f; float32 config.Ranges.RotationCentreDepth |], [ 1; 1; 3 ])
        let vertices = ((points - centre) * flip).contiguous ()
        let faces = Reconstruct.Stages.Unsup3dWarp.gridFaces s
        let texel = (Tensor.arange (0.0, float s, 1.0, Float32) + 0.5) / float s
        let u = (texel.reshape [ 1; s ]).expand([ s; s ])
        let v = (texel.reshape [ s; 1 ]).expand([ s; s ])
        let uv = (Tensor.stack ([ u; v ], -1)).reshape [ s * s; 2 ]
        Mesh.withUVs (UVMap.ofPerVertex (uv.contiguous ()) faces) (Mesh.create vertices faces)

    let viewJson (input: string) (model: string) (factors: U.Factors) (k: int) =
        let row (t: Tensor) = (t.narrow (0, k, 1)).ToFloat32s() |> Array.map float
        let angles = row factors.View.Angles |> Array.map (fun r -> r * 180.0 / Math.PI)
        JsonSerializer.Serialize(
            {| input = input
               model = model
               frame = "the mesh is the canonical depth, x right, y up, facing +z; the view rotates it by R = Rz·Ry·Rx about its centre, then translates it"
               rotation_deg = {| x = angles.[0]; y = angles.[1]; z = angles.[2] |}
               translation = row factors.View.Translation
               light = {| ambient = (row factors.Light.Ambient).[0]; diffuse = (row factors.Light.Diffuse).[0]; direction = row factors.Light.Direction |} |},
            JsonSerializerOptions(WriteIndented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
        + "\n"

    let reconstructor (options: Options) (runDir: string) : Reconstructor =
        let model, checkpoint, description, background = load runDir
        let unit (x: Tensor) = ((x + 1.0) / 2.0).clamp (0.0, 1.0)
        { Description = description
          Source = checkpoint
          Size = Reconstruct.Stages.Unsup3d.ImageSize
          Background = background
          Outputs = outputs options
          WriteBatch =
            fun decoded ->
                use _ = Autograd.noGrad ()
                let images = Tensor.stack ([ for _, _, image in decoded -> image ], 0)
                // One pass gives the factors and the reconstruction both.
                let pass = U.forward model (images * 2.0 - 1.0)
                let factors = pass.Factors
                let recon = unit (pass.Reconstruction.narrow (0, 0, decoded.Length))
                [ for k, (input, name, image) in List.indexed decoded ->
                      try
                          use scope = DisposalScope.Open()
                          let out (file: string) = Path.Combine(options.Out, file)
                          let texture = unit factors.Albedo.[k]
                          let mesh = mesh model.Config factors k
                          MeshIO.writeObjTexturedAs (out (name + ".obj")) (name + "_texture.png") Image.encodePng texture mesh
                          let cells = Tensor.stack ([ image; recon.[k]; texture; unit factors.CanonicalImage.[k] ], 0)
                          let grid = Image.grid 4 2 1.0 cells
                          Image.save (out (name + ".png")) (Image.resizeWith ResizeMode.Nearest (2 * grid.Size 1, 2 * grid.Size 2) grid)
                          if options.Ply then MeshIO.writePly (out (name + ".ply")) true mesh
                          if options.Glb then Gltf.writeGlb (out (name + ".glb")) Image.encodePng texture mesh
                          Files.writeTextAtomically (out (name + ".view.json")) (viewJson input description factors k)
                          input, None
                      with Files.FileWriteError (path, problem) -> input, Some(sprintf "%s: %s" path problem) ]
          Release = fun () -> U.dispose model }

// ------------------------------------------------------------------------------ point clouds

module private Points =
    module P = Reconstruct.Pipelines.PointCloud

    let outputs (name: string) = [ name + ".ply"; name + ".png"; name + ".pose.json" ]

    let load (runDir: string) =
        let _, model, checkpoint, description =
            loadRun<PointCloudExperiment.Method, P.Model> runDir "point cloud" (fun m -> (use g = new Generator(0UL) in P.create g m.Pipeline)) P.parameters P.dispose
        model, checkpoint, description

    let reconstructor (options: Options) (runDir: string) : Reconstructor =
        let model, checkpoint, description = load runDir
        { Description = description
          Source = checkpoint
          Size = model.Config.ImageSize
          // The method's images are RGB over black, the projection's background.
          Background = 0.0
          Outputs = outputs
          WriteBatch =
            fun decoded ->
                use _ = Autograd.noGrad ()
                let images = Tensor.stack ([ for _, _, image in decoded -> image ], 0)
                let p = P.predict model images
                let views = P.turntable model.Config p
                [ for k, (input, name, image) in List.indexed decoded ->
                      try
                          use scope = DisposalScope.Open()
                          let out (file: string) = Path.Combine(options.Out, file)
                          MeshIO.writePointsPly (out (name + ".ply")) ((p.Xyz.select (0, k)).contiguous().ToFloat32s()) ((p.Rgb.select (0, k)).contiguous().ToFloat32s())
                          let cells = Tensor.stack (image :: [ for v in views -> v.[k] ], 0)
                          let grid = Image.grid 5 2 1.0 cells
                          Image.save (out (name + ".png")) (Image.resizeWith ResizeMode.Nearest (2 * grid.Size 1, 2 * grid.Size 2) grid)
                          let angle (t: Tensor) = degrees ((t.narrow (0, k, 1)).ToFloat32s()).[0]
                          let json =
                              JsonSerializer.Serialize(
                                  {| input = input
                                     model = description
                                     frame = "the cloud is in the model's canonical frame; the camera orbits it at the training data's distance and field of view"
                                     azimuth_deg = angle p.Azimuth
                                     elevation_deg = angle p.Elevation |},
                                  JsonSerializerOptions(WriteIndented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
                          Files.writeTextAtomically (out (name + ".pose.json")) (json + "\n")
                          input, None
                      with Files.FileWriteError (path, problem) -> input, Some(sprintf "%s: %s" path problem) ]
          Release = fun () -> P.dispose model }

/// The reconstructor `options.Model` names: an Unsup3d or point-cloud training run, else a
/// UNICORN model.
let private reconstructorOf (options: Options) =
    let runPipeline =
        if Directory.Exists options.Model && File.Exists(Path.Combine(options.Model, Trainer.ConfigFile)) then
            (try Some(Trainer.pipelineOf options.Model) with _ -> None)
        else None
    match runPipeline with
    | Some name when name = Unsup3dExperiment.pipelineName -> Depth.reconstructor options options.Model
    | Some name when name = PointCloudExperiment.pipelineName -> Points.reconstructor options options.Model
    | _ -> unicornReconstructor options (load options.Model)

// ------------------------------------------------------------------------------ the batch run

/// Output names: the file's name without extension, or with it when two inputs share one.
let private namesOf (inputs: string[]) =
    let stems = inputs |> Array.map Path.GetFileNameWithoutExtension
    let count = stems |> Array.countBy id |> dict
    Array.map2 (fun (stem: string) (path: string) -> if count.[stem] > 1 then stem + "_" + Path.GetExtension(path).TrimStart('.') else stem) stems inputs

let private checkWritable (dir: string) =
    try
        Directory.CreateDirectory dir |> ignore
        let probe = Path.Combine(dir, sprintf ".write-test-%d" Environment.ProcessId)
        File.WriteAllText(probe, "")
        File.Delete probe
    with
    | :? IOException
    | :? UnauthorizedAccessException as e -> raise (Files.FileWriteError(dir, "the output folder cannot be written: " + e.Message.Split('\n').[0]))

let private writeSummary (options: Options) (model: string) (items: (string * ItemOutcome) list) (seconds: float) (perImage: float) =
    let count f = items |> List.filter (snd >> f) |> List.length
    let doneCount = count (function Done _ -> true | _ -> false)
    let skipped = count (function Skipped -> true | _ -> false)
    let failed = count (function Failed _ -> true | _ -> false)
    let json =
        let rows =
            [| for input, outcome in items ->
                   match outcome with
                   | Done s -> {| input = input; status = "done"; seconds = Nullable s; reason = (null: string) |}
                   | Skipped -> {| input = input; status = "skipped"; seconds = Nullable(); reason = (null: string) |}
                   | Failed reason -> {| input = input; status = "failed"; seconds = Nullable(); reason = reason |} |]
        JsonSerializer.Serialize(
            {| model = model; input = options.Input; reconstructed = doneCount; skipped = skipped; failed = failed
               seconds = seconds; secondsPerImage = (if Double.IsNaN perImage then Nullable() else Nullable perImage); items = rows |},
            JsonSerializerOptions(WriteIndented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
    let md =
        [ yield "# Predictions"
          yield ""
          yield sprintf "- model: %s" model
          yield sprintf "- input: `%s`" options.Input
          yield String.Format(inv, "- {0} done, {1} skipped (already complete), {2} failed; {3:0.0} s in all, {4} per image", doneCount, skipped, failed, seconds, (if Double.IsNaN perImage then "–" else String.Format(inv, "{0:0.000} s", perImage)))
          yield ""
          yield "| input | outcome |"
          yield "|---|---|"
          for input, outcome in items ->
              let text =
                  match outcome with
                  | Done s -> String.Format(inv, "done in {0:0.000} s", s)
                  | Skipped -> "skipped (outputs complete)"
                  | Failed reason -> "FAILED: " + reason.Replace("|", "\\|")
              sprintf "| %s | %s |" (Path.GetFileName input) text ]
    let jsonPath, mdPath = Path.Combine(options.Out, "summary.json"), Path.Combine(options.Out, "summary.md")
    Files.writeTextAtomically jsonPath (json + "\n")
    Files.writeTextAtomically mdPath (String.Join("\n", md) + "\n")
    [ jsonPath; mdPath ]

let run (options: Options) (cancel: CancellationToken) (log: string -> unit) : Summary =
    let clock = Stopwatch.StartNew()
    if options.BatchSize < 1 then invalidArg "options" (sprintf "predict: the batch size must be at least 1, received %d" options.BatchSize)
    let inputs =
        if File.Exists options.Input then [| Path.GetFullPath options.Input |]
        elif Directory.Exists options.Input then Loader.filesIn options.Input
        else raise (InputError(options.Input, "no such file or folder"))
    checkWritable options.Out
    let reconstructor = reconstructorOf options
    use _ = { new IDisposable with member _.Dispose() = reconstructor.Release () }
    log (sprintf "predict: %s (%s)" reconstructor.Description reconstructor.Source)
    let size = reconstructor.Size
    let names = namesOf inputs
    let outcomes = Collections.Generic.Dictionary<string, ItemOutcome>()
    let complete (name: string) = reconstructor.Outputs name |> List.forall (fun f -> File.Exists(Path.Combine(options.Out, f)))
    let pending =
        [| for input, name in Array.zip inputs names do
               if not (Loader.isImageFile input) then
                   outcomes.[input] <- Failed(sprintf "not an image file (%s; PNG, JPEG, BMP or TGA expected)" (if Path.HasExtension input then Path.GetExtension input else "no extension"))
               elif complete name then outcomes.[input] <- Skipped
               else yield input, name |]
    log (sprintf "predict: %d inputs, %d to reconstruct, %d already complete, %d not images" inputs.Length pending.Length
             (outcomes.Values |> Seq.filter ((=) Skipped) |> Seq.length) (outcomes.Values |> Seq.filter (function Failed _ -> true | _ -> false) |> Seq.length))
    let timed = Collections.Generic.List<float>()
    let started = Stopwatch.StartNew()
    Progress.within Display.Auto 5.0 log (fun report _ ->
        let mutable finished = 0
        for chunk in Array.chunkBySize options.BatchSize pending do
            if not cancel.IsCancellationRequested then
                use scope = DisposalScope.Open()
                let chunkClock = Stopwatch.StartNew()
                let decoded =
                    [ for input, name in chunk do
                          try yield input, name, prepareOver reconstructor.Background size input
                          with
                          | InputError (_, problem) -> outcomes.[input] <- Failed problem
                          | :? ImageFileException as e -> outcomes.[input] <- Failed e.Reason ]
                if not decoded.IsEmpty then
                    let written = Collections.Generic.List<string>()
                    for input, failure in reconstructor.WriteBatch decoded do
                        match failure with
                        | None -> written.Add input
                        | Some reason -> outcomes.[input] <- Failed reason
                    let each = chunkClock.Elapsed.TotalSeconds / float (max 1 written.Count)
                    for input in written do
                        outcomes.[input] <- Done each
                        timed.Add each
                finished <- finished + chunk.Length
                let rate = float finished / max 1e-9 started.Elapsed.TotalSeconds
                report
                    { Name = "predict"
                      Iteration = finished
                      Total = Some pending.Length
                      Epoch = 0
                      ItPerS = rate
                      EtaSeconds = Some(float (pending.Length - finished) / max 1e-9 rate)
                      ElapsedS = started.Elapsed.TotalSeconds
                      Lr = 0.0
                      Losses = [] })
    if cancel.IsCancellationRequested then log "predict: cancelled; the images done so far are complete, a rerun skips them"
    let items = [ for input in inputs do match outcomes.TryGetValue input with | true, o -> yield input, o | _ -> () ]
    let perImage = if timed.Count = 0 then nan else Seq.average timed
    let seconds = clock.Elapsed.TotalSeconds
    let files = writeSummary options reconstructor.Description items seconds perImage
    for input, outcome in items do
        match outcome with
        | Failed reason -> log (sprintf "predict: %s: %s" input reason)
        | _ -> ()
    { Items = items; Seconds = seconds; SecondsPerImage = perImage; Files = files }
