module Reconstruct.App.PointCloudExperiment

open System
open System.IO
open System.Threading
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Render
open Reconstruct.Eval
open Reconstruct.Train
open Reconstruct.App.Experiments

module Pipeline = Reconstruct.Pipelines.PointCloud

type Method =
    { Data: TrainingData
      DataSeed: uint64
      Cache: string
      ViewsPerInstance: int
      Pipeline: Pipeline.Config
      EvalView: int
      ValidationInstances: int
      TestInstances: int }

let pipelineName = "pointcloud"

let baseline: Experiment<Method> =
    { Name = "pointcloud"
      Seed = 1UL
      Method =
        { Data = Procedural("chair", 1000)
          DataSeed = 42UL
          Cache = Path.Combine(".cache", "train")
          ViewsPerInstance = 1
          Pipeline = Pipeline.Config.Defaults
          EvalView = 3
          ValidationInstances = 50
          TestInstances = 0 }
      Optimiser = { Optim.Adam.Defaults with Lr = 5e-4 }
      LearningRate = Optim.Constant
      BatchSize = 16
      Stop = { Iterations = Some 6000; Minutes = Some 90.0 }
      CheckpointEvery = 500
      EvalEvery = 500
      ProgressSeconds = 10.0
      InitFrom = None
      KeepBest = None }

let trainingSamples (instances: int) (views: int) (viewsPerInstance: int) (seed: uint64) =
    if viewsPerInstance < 1 || viewsPerInstance > views then
        invalidArg "viewsPerInstance" (sprintf "PointCloudExperiment: ViewsPerInstance must be in 1..%d, received %d" views viewsPerInstance)
    [| for i in 0 .. instances - 1 do
           let rng = SplitMix64.Derive(seed, uint64 i)
           for v in (rng.Permutation views).[.. viewsPerInstance - 1] -> i, v |]

let batchOf (set: MultiView.Set) (samples: (int * int)[]) : Pipeline.Batch =
    use scope = DisposalScope.Open()
    let rgba = MultiView.images set (Array.map fst samples) (Array.map snd samples)
    let alpha = rgba.narrow (1, 3, 1)
    let cameras = samples |> Array.map (fun (i, v) -> MultiView.camera set i v)
    { Images = scope.MoveOut(rgba.narrow (1, 0, 3) * alpha)
      Masks = scope.MoveOut(alpha.gt(0.5).cast Float32)
      Azimuth = scope.MoveOut(Tensor.ofArray (cameras |> Array.map (fun (a, _, _) -> float32 a)))
      Elevation = scope.MoveOut(Tensor.ofArray (cameras |> Array.map (fun (_, e, _) -> float32 e))) }

/// The evaluation samples of a split: instance i from view (first + 7 i) mod Views (7 is prime
/// to 24, so the views cycle through every azimuth).
let private evalSamples (set: MultiView.Set) (first: int) (count: int) =
    Array.init (if count <= 0 then set.Count else min count set.Count) (fun i -> i, (first + 7 * i) % set.Views)

/// Azimuth errors (degrees) of predictions against the truth after the canonical frame's
/// offset, and its direction: a self-supervised frame may run the other way round (chairs
/// and cars are mirror-symmetric, so a mirrored frame explains the images as well).
let private azimuthErrors (predicted: float[]) (truth: float[]) (sign: float) (offset: float) =
    Array.map2 (fun p t -> PoseMetrics.angleDifferenceDeg (sign * Rotation.degrees p + offset) (Rotation.degrees t)) predicted truth

/// The sign and offset that best align predicted azimuths with the true ones (`bestOffset`).
let private fitAzimuth (predicted: float[]) (truth: float[]) =
    [ 1.0; -1.0 ]
    |> List.map (fun sign ->
        let offset = PoseMetrics.bestOffset [ 0.0 .. 5.0 .. 355.0 ] (azimuthErrors predicted truth sign)
        sign, offset, PoseMetrics.accuracy 30.0 (azimuthErrors predicted truth sign offset))
    |> List.maxBy (fun (_, _, accuracy) -> accuracy)
    |> fun (sign, offset, _) -> sign, offset

/// Predictions of the samples in chunks: clouds (N, 3) and colours as host arrays, azimuths,
/// and the splat's mask IoU at the predicted pose.
type private Scored =
    { Clouds: float32[][]
      Azimuth: float[]
      TrueAzimuth: float[]
      MaskIoU: float[] }

let private score (model: Pipeline.Model) (set: MultiView.Set) (samples: (int * int)[]) =
    use _ = Autograd.noGrad ()
    let clouds, azimuths, truths, ious = ResizeArray(), ResizeArray(), ResizeArray(), ResizeArray()
    for chunk in Array.chunkBySize 32 samples do
        use _ = DisposalScope.Open()
        use batch = batchOf set chunk
        let p = Pipeline.predict model batch.Images
        let mask, _ = Pipeline.render model.Config p.Azimuth p.Elevation p.Xyz p.Rgb
        ious.AddRange(ImageMetrics.maskIoU mask batch.Masks)
        for k in 0 .. chunk.Length - 1 do
            clouds.Add((p.Xyz.select (0, k)).contiguous().ToFloat32s())
        azimuths.AddRange(p.Azimuth.ToFloat64s())
        truths.AddRange(batch.Azimuth.ToFloat64s())
    { Clouds = clouds.ToArray(); Azimuth = azimuths.ToArray(); TrueAzimuth = truths.ToArray(); MaskIoU = ious.ToArray() }

let private validate (m: Method) (model: Pipeline.Model) (validation: MultiView.Set) () =
    if m.ValidationInstances = 0 then []
    else
        let s = score model validation (evalSamples validation m.EvalView m.ValidationInstances)
        let sign, offset = fitAzimuth s.Azimuth s.TrueAzimuth
        [ "val_mask_iou", Array.average s.MaskIoU
          "val_azimuth_acc30", PoseMetrics.accuracy 30.0 (azimuthErrors s.Azimuth s.TrueAzimuth sign offset) ]

let private learner (m: Method) (model: Pipeline.Model) (steps: Generator) (validation: MultiView.Set) : Learner<Pipeline.Batch> =
    { Pipeline = pipelineName
      Parameters = Pipeline.parameters model
      Buffers = []
      Generators = [ "steps", steps ]
      Phases = 1
      Loss = fun _ _ batch -> Pipeline.losses model steps batch
      Validate = fun _ -> validate m model validation () }

let private dataOf (experiment: Experiment<Method>) (train: MultiView.Set) : Data<Pipeline.Batch> =
    let m = experiment.Method
    let samples = trainingSamples train.Count train.Views m.ViewsPerInstance (Seed.child experiment.Seed "views")
    let batchSize = experiment.BatchSize
    if samples.Length < batchSize then
        invalidArg "experiment" (sprintf "%s: %d training images, fewer than a batch of %d" experiment.Name samples.Length batchSize)
    let perEpoch = samples.Length / batchSize
    let orderSeed = Seed.child experiment.Seed "order"
    { BatchesPerEpoch = perEpoch
      Epoch =
        fun epoch start ->
            let order = SplitMix64.Derive(orderSeed, uint64 epoch).Permutation samples.Length
            seq { for index in start .. perEpoch - 1 -> batchOf train (Array.init batchSize (fun k -> samples.[order.[index * batchSize + k]])) } }

let run (runDir: string) (results: string option) (experiment: Experiment<Method>) (resume: bool) (cancel: CancellationToken) (log: string -> unit) =
    let m = experiment.Method
    if m.EvalView < 0 || m.EvalView >= DatasetRender.multiViews.Length then
        invalidArg "experiment" (sprintf "%s: Method.EvalView must be in 0..%d, received %d" experiment.Name (DatasetRender.multiViews.Length - 1) m.EvalView)
    let benchmark = multiViewBenchmark m.Cache m.DataSeed m.Data cancel log
    let train = MultiView.load benchmark "train"
    let validation = MultiView.load benchmark "val"
    log (sprintf "data: %s: %d training instances, %d views each used, %d val instances" benchmark train.Count m.ViewsPerInstance validation.Count)
    use runScope = DisposalScope.Open()
    let model =
        use generator = new Generator(Seed.child experiment.Seed "init")
        Pipeline.create generator m.Pipeline
    use steps = new Generator(Seed.child experiment.Seed "steps")
    let outcome = Trainer.run runDir experiment (learner m model steps validation) (dataOf experiment train) resume cancel log
    { Outcome = outcome; TrainInstances = train.Count; Report = None; Files = [] }

let script (experiment: Experiment<Method>) (args: string[]) = Experiments.script run experiment args

let resume (runDir: string) (stop: Stop option) (results: string option) (cancel: CancellationToken) (log: string -> unit) =
    let saved = Trainer.readExperiment<Method> runDir
    let experiment = match stop with Some s -> { saved with Stop = s } | None -> saved
    run runDir results experiment true cancel log
