/// The point-cloud method of Navaneet et al. (issue 16): procedural or furniture models rendered
/// in the multi-view protocol, of which each training object gives `ViewsPerInstance` images
/// with their silhouettes (the paper: one), no camera; the shape and pose networks trained by
/// `Pipelines.PointCloud`, validated by the splat's mask IoU and the azimuth accuracy, then
/// scored on the test split. `experiments/pointcloud_*.fsx` and `reconstruct train pointcloud`
/// call `run`.
module Reconstruct.App.PointCloudExperiment

open System.Threading
open Reconstruct.Torch
open Reconstruct.Train
open Reconstruct.App.Experiments

/// The method's part of the experiment record.
type Method =
    { /// Procedural or furniture models of one category.
      Data: TrainingData
      /// The data's one seed: shapes, splits, views.
      DataSeed: uint64
      /// Where rendered training sets are kept between runs.
      Cache: string
      /// Training images per object, views drawn once per object from the run's seed (the
      /// paper: 1; the cycles are what stands in for more views).
      ViewsPerInstance: int
      Pipeline: Reconstruct.Pipelines.PointCloud.Config
      /// Instance i of the val and test splits is seen from view (EvalView + 7 i) mod 24.
      EvalView: int
      /// Validation and the global rotation fit: at most this many val instances.
      ValidationInstances: int
      /// Test evaluation: at most this many instances (0 = the whole test split).
      TestInstances: int }

/// The pipeline name stored in config.json and checkpoints.
val pipelineName: string

/// The paper's recipe on 2 CPU cores: procedural chairs, one view per object, the paper's
/// networks (but the azimuth on the circle, `AzimuthOutput.Circle`), projection and weights,
/// Adam 5e-4 at batch 16 (the paper: batch 2, 200k iterations), 6,000 iterations.
val baseline: Experiment<Method>

/// `baseline` on other data (another category), named `name`.
val on: name: string -> data: TrainingData -> Experiment<Method>

/// The ablation of `experiment` without the geometric cycle (its weight 0, so it is not
/// computed), named <Name>_no_geometric_cycle; everything else, the budget included, the same.
val withoutGeometricCycle: experiment: Experiment<Method> -> Experiment<Method>

/// The same without the pose cycle, named <Name>_no_pose_cycle.
val withoutPoseCycle: experiment: Experiment<Method> -> Experiment<Method>

/// The paper's OURS-NN for `experiment`: the same fine-tuned from `source` (its CC model: a run
/// folder or checkpoint) with the neighbour term (`Pipeline.Config.NeighbourDefaults`), named
/// <Name>_nn; its Stop is the fine-tune's. The neighbour lists come from `source`'s shape codes
/// when the run starts.
val withNeighbours: source: string -> experiment: Experiment<Method> -> Experiment<Method>

/// For each code, the indices of its `count` nearest others in Euclidean distance, nearest
/// first (ties by index): OURS-NN's neighbour lists. codes: one float32[] per image, of equal
/// length; count in 1 .. codes.Length − 1.
val nearestByCode: codes: float32[][] -> count: int -> int[][]

/// The fine-tunes of the issue's table: `experiment`'s own run (runs/<Name>, trained first)
/// fine-tuned for 2,000 more iterations (at most 60 minutes), with the neighbour term
/// (`withNeighbours`, <Name>_nn) or, as its control, without (<Name>_continued: both cycles,
/// trained as long).
val fineTuned: neighbours: bool -> experiment: Experiment<Method> -> Experiment<Method>

/// The reference of the paper for `experiment`: the same with the true poses given (the pose
/// network neither used nor trained), named <Name>_pose_supervised.
val poseSupervised: experiment: Experiment<Method> -> Experiment<Method>

/// The samples (instance, view) a split gives for training: `viewsPerInstance` distinct views
/// per instance, drawn from `seed` and the instance's number, instances in order.
val trainingSamples: instances: int -> views: int -> viewsPerInstance: int -> seed: uint64 -> (int * int)[]

/// A batch of (instance, view) samples of `set`: RGB over black, mask (alpha > 0.5), the true
/// azimuth and elevation; new tensors of the current scope.
val batchOf: set: Reconstruct.Data.MultiView.Set -> samples: (int * int)[] -> Reconstruct.Pipelines.PointCloud.Batch

/// Trains into `runDir` (resume: continue the run there), then evaluates the test split and,
/// when `results` is given, writes `<results>/<Name>.md` and `.json`.
val run:
    runDir: string ->
    results: string option ->
    experiment: Experiment<Method> ->
    resume: bool ->
    cancel: CancellationToken ->
    log: (string -> unit) ->
        RunSummary

/// Another method's meshes on this method's evaluation, for the issue's table (UNICORN's meshes
/// sampled to 1,024 points): each val and test image of `experiment`'s data (`EvalView`,
/// `ValidationInstances`, `TestInstances`), as RGB over the grey `background` (the other
/// method's training images), goes to `predict`, which returns one (vertices (1, V, 3), faces
/// (F, 3) int64: a batch of one, as `Mesh`) per image, in its own canonical frame; each mesh is sampled as the truth
/// (10,000 area-weighted surface points, then farthest-point sampling to `Points`) and, its
/// units not being the data's, centred and scaled into the ball of radius 0.5, so that the
/// clip cuts nothing after any rotation; then the global rotation fit on val and the scores of
/// `run`. Writes <results>/<name>.md and .json
/// (the shape `experiments/results_reader.fsx` reads: iterations 0, as nothing is trained here)
/// and returns their paths. images: (B, 3, S, S) float32 in [0, 1], S = the data's 64.
val scoreMeshes:
    experiment: Experiment<Method> ->
    name: string ->
    description: string ->
    background: float ->
    predict: (Tensor -> (Tensor * Tensor) list) ->
    results: string ->
    log: (string -> unit) ->
        string list

/// `Experiments.script` for this method.
val script: experiment: Experiment<Method> -> args: string[] -> int

/// Resumes the run in `runDir` (its config.json's experiment; `stop` replaces the stop rule).
val resume: runDir: string -> stop: Stop option -> results: string option -> cancel: CancellationToken -> log: (string -> unit) -> RunSummary
