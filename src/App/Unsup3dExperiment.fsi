/// Unsup3d's experiment (issue 15): symmetric-protocol renders of one category, the pipeline
/// trained on the images alone, then the view depth scored against the rendered ground truth
/// with SIDE and MAD (peers.md §A.6) beside two reference rows, figures of the factors, and
/// the results file. `experiments/unsup3d_*.fsx` and `reconstruct train unsup3d` call `run`.
module Reconstruct.App.Unsup3dExperiment

open System.Threading
open Reconstruct.Torch
open Reconstruct.Train
open Reconstruct.App.Experiments

/// The method's part of the experiment record.
type Method =
    { /// Procedural or furniture models of one category (photographs have no depth).
      Data: TrainingData
      /// The data's one seed: shapes, splits, views, lights.
      DataSeed: uint64
      /// Where rendered training sets are kept between runs.
      Cache: string
      /// Symmetric views per instance.
      Views: int
      /// The grey level in [0, 1] the renders' alpha is composited over (the loaders' 1 is white).
      Background: float
      Pipeline: Reconstruct.Pipelines.Unsup3d.Config
      /// Validation: SIDE and MAD over the first this many val images (0 = none).
      ValidationImages: int
      /// Test evaluation: the first this many test images (0 = all).
      TestImages: int
      /// Training images whose depth maps make the "mean ground-truth depth" reference.
      ReferenceImages: int }

/// The pipeline name stored in config.json and checkpoints.
val pipelineName: string

/// The focal length, pixels at 64², of the project's dataset renders (their 30° field of view
/// at the image edges): the camera the model should share with the data.
val datasetFocal: float

/// Unsup3d's recipe scaled to 2 CPU cores on procedural cars (the numbers and their reasons
/// are in the implementation's comment).
val baseline: Experiment<Method>

/// What a finished run measured.
type Summary =
    { Outcome: Outcome
      TrainImages: int
      /// The model's scores, then the reference rows "constant null depth", "mean
      /// ground-truth depth" and the 2.5D limit (`limitDepth`) (None when the run was
      /// cancelled or diverged).
      Scores: (string * Reconstruct.Stages.Unsup3dEval.Row) list option
      Files: string list }

/// The depth metrics of `model` on the first `count` images of `set` (0 = all), predicted in
/// batches under no-grad: SIDE (raw, not ×10⁻²) and MAD (degrees) per image on the ground-truth
/// foreground eroded by one pixel times the prediction's eroded mask, summarised over the
/// images (those with an empty mask skipped).
val score: model: Reconstruct.Pipelines.Unsup3d.Model -> set: Reconstruct.Data.SingleView.Set -> count: int -> Reconstruct.Stages.Unsup3dEval.Row

/// The elevation of the 2.5D limit's front view: the middle of the symmetric protocol's range.
val limitElevation: float

/// `view` turned to the front (azimuth 0, no roll) at `elevation` degrees, its scale and shift kept.
val frontView: elevation: float -> view: Reconstruct.Data.DatasetRender.View -> Reconstruct.Data.DatasetRender.View

/// Unsup3d's 2.5D limit, a reference no model of its kind can beat by much: each sample's true
/// depth seen from `canonicalView` of its view (the results use `frontView limitElevation`),
/// the background set to the plane of its farthest depth, meshed as Unsup3d meshes its
/// canonical depth (a vertex at each pixel centre) and rendered at the sample's view.
/// (depth (N, H, W) camera z, 0 where nothing is hit; mask (N, H, W) float32, 1 where
/// something is), in `samples`' order; new tensors of the current scope. Needs the set's
/// meshes (rendered benchmarks).
val limitDepth: set: Reconstruct.Data.SingleView.Set -> samples: int[] -> canonicalView: (Reconstruct.Data.DatasetRender.View -> Reconstruct.Data.DatasetRender.View) -> Tensor * Tensor

/// A figure of the factors of `model` on the first 6 images of `set`, one image a row: input |
/// reconstruction | canonical image | albedo | shading | canonical depth | view depth |
/// ground-truth depth | confidence σ (black without confidence maps), written to `path`.
val writeFigure: path: string -> model: Reconstruct.Pipelines.Unsup3d.Model -> set: Reconstruct.Data.SingleView.Set -> unit

/// Trains into `runDir` (resume: continue the run there), then scores the test split and,
/// when `results` is given, writes `<results>/<Name>.md` and `.json` (config, seed, the table
/// with the reference rows, the floor check) plus the curves and the figure of the factors.
val run:
    runDir: string ->
    results: string option ->
    experiment: Experiment<Method> ->
    resume: bool ->
    cancel: CancellationToken ->
    log: (string -> unit) ->
        Summary

/// The summary as the other methods' (no `EvalReport`: the scores are in the log and files).
val toRunSummary: summary: Summary -> RunSummary

/// `Experiments.script` for this method: an `experiments/unsup3d_*.fsx` ends with
/// `exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))`.
val script: experiment: Experiment<Method> -> args: string[] -> int

/// Resumes the Unsup3d run in `runDir` (its config.json's experiment; `stop` replaces the
/// stop rule when given).
val resume: runDir: string -> stop: Stop option -> results: string option -> cancel: CancellationToken -> log: (string -> unit) -> RunSummary
