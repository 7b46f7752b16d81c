/// Each method's experiment: its typed record with the library's baseline, the data it trains
/// on (generated or prepared on first use), its learner for the trainer, and the evaluation and
/// results file that end a run. `experiments/*.fsx` and `reconstruct train` both call these, so
/// a script and the command line reach the same code.
module Reconstruct.App.Experiments

open System.Threading
open Reconstruct.Torch
open Reconstruct.Train

/// Where a training set comes from. Procedural and real models are rendered once into the
/// experiment's cache (`DatasetRender.writeBenchmark`) and reused by later runs.
type TrainingData =
    /// `count` procedural shapes of `category` (Procedural.categories), split 70/10/20.
    | Procedural of category: string * count: int
    /// The real models of `category` (Debian's sweethome3d-furniture, `Furniture.prepare`).
    | Furniture of category: string
    /// A collection of photographs imported by `Photos.import` into `folder`: no ground truth,
    /// so UNICORN only (SoftRas and the wild protocol refuse it), validated by the re-render's
    /// PSNR and SSIM, and not evaluated on shapes or poses.
    | Photos of folder: string
    /// SoftRas only: training on `evaluated`'s training objects, each `repeat` times an epoch,
    /// together with the training objects of `others` (e.g. a few real chairs with many
    /// procedural ones, so the real ones are not memorised); validated and tested on
    /// `evaluated` alone. Neither `evaluated` nor `others` may be Mixed or Photos.
    | Mixed of evaluated: TrainingData * repeat: int * others: TrainingData list

/// What a finished run measured, for the caller and the results file.
type RunSummary =
    { Outcome: Outcome
      /// Training instances and the iterations run (in total, over resumes).
      TrainInstances: int
      /// The test split's report (None when the run was cancelled or diverged).
      Report: EvalReport option
      /// Files written: the results Markdown and JSON, figures.
      Files: string list }

/// Copies `source` into the results folder `dir` as `target` when it exists: Some target (the
/// name a results Markdown links), else None.
val copyResult: dir: string -> source: string -> target: string -> string option

/// The time (UTC, to the minute) and the machine (`Runtime.info`) a results file is written on:
/// "2026-12-07 21:40 UTC ({...})".
val writtenAt: unit -> string

/// A results file's first line: the run folder, the time and the machine (`writtenAt`).
val writtenBy: runDir: string -> string

/// Evaluation uses the run's best checkpoint (`KeepBest`) when it kept one: restores its
/// parameters and buffers into the model's and logs which it took; otherwise leaves the last state.
val restoreBest: outcome: Outcome -> parameters: Layers.Named -> buffers: Layers.Named -> log: (string -> unit) -> unit

/// The results file's line naming the best checkpoint evaluated, when the run kept one.
val bestLine: outcome: Outcome -> string option

/// Writes a run's results files: <dir>/<name>.md, the lines each ended by a newline, and
/// <dir>/<name>.json, `record` as indented JSON, each atomically (temporary name, then
/// renamed). Returns the two paths, Markdown first.
val writeResultFiles: dir: string -> name: string -> lines: string list -> record: 'Record -> string list

/// The rendered benchmark of `data`'s category under the multi-view protocol (64 px, the 24
/// views at elevation 30°, seed `seed`), rendered on first use: the folder `MultiView.load`
/// reads. Procedural or furniture data only.
val multiViewBenchmark: cache: string -> seed: uint64 -> data: TrainingData -> cancel: CancellationToken -> log: (string -> unit) -> string

/// The rendered benchmark of `data`'s category under the symmetric protocol alone (64 px,
/// `views` per instance, seed `seed`), `<cache>/<source>-symmetric64x<views>/<category>`,
/// rendered on first use; issue 15's data.
val symmetricBenchmark: cache: string -> seed: uint64 -> data: TrainingData -> views: int -> cancel: CancellationToken -> log: (string -> unit) -> string

/// SoftRas (Liu et al. 2019) as SSR trains it (peers.md §B): silhouettes of two views per
/// object with known cameras, multi-view IoU + Laplacian + flatten losses.
module SoftRas =

    /// The method's part of the experiment record.
    type Method =
        { Data: TrainingData
          /// The data's one seed: shapes, splits.
          DataSeed: uint64
          /// Where rendered training sets (and prepared real models) are kept between runs.
          Cache: string
          /// Some n: train on the first n training objects only, drawn with replacement (SSR's
          /// "SoftRas-N" reference); None: on every training object, an epoch a permutation.
          Labelled: int option
          Pipeline: Reconstruct.Pipelines.SoftRas.Config
          /// σ of the soft silhouettes as a factor of `Pipeline.Sigma`, a function of the
          /// iteration (SoftRas: ×0.3 at 150k iterations).
          Sigma: Optim.Schedule
          /// The input view of evaluation and validation, an index into the 24 multi-views.
          EvalView: int
          /// Validation: mean 3D IoU over at most this many val instances (0 = none).
          ValidationInstances: int
          /// Test evaluation: at most this many instances (0 = the whole test split).
          TestInstances: int
          /// Surface points per mesh for Chamfer and F-score.
          EvalPoints: int }

    /// SSR's recipe scaled to 2 CPU cores. The paper's batch 64 costs about 1.1 s an iteration
    /// here, batch 16 about 0.56 s, so batch 16 and about 2,000 iterations in the 20-minute
    /// budget instead of 250k; Adam at the paper's 1e-4 (1e-3 learned faster for 300 iterations
    /// but left 51 of the encoder's 512 features alive after 1,228: one mean chair for every
    /// input), with SoftRas' late step, learning rate and σ ×0.3, at iteration 1,500 instead of
    /// 150k. 1,000 procedural chairs; the test evaluation on the first 100 test instances.
    val baseline: Experiment<Method>

    /// The pipeline name stored in config.json and checkpoints.
    val pipelineName: string

    /// Trains into `runDir` (resume: continue the run there), then evaluates the test split
    /// into `runDir/eval` and, when `results` is given, writes `<results>/<Name>.md` and `.json`
    /// (config, seed, instances, iterations, the table with the reference rows, the floor
    /// check) plus the curves and grid figures beside them.
    val run:
        runDir: string ->
        results: string option ->
        experiment: Experiment<Method> ->
        resume: bool ->
        cancel: CancellationToken ->
        log: (string -> unit) ->
            RunSummary

/// SSR (Laradji et al. 2021; issue 14): SoftRas on the first `Labelled` training objects with
/// their cameras plus the others' images, whose viewpoints SiamVP pseudo-labels (peers.md §B.4).
module Ssr =

    /// The method's part of the experiment record.
    type Method =
        { Data: TrainingData
          /// The data's one seed: shapes, splits.
          DataSeed: uint64
          /// Where rendered training sets are kept between runs.
          Cache: string
          /// The first `Labelled` training objects keep their cameras (SSR's N ∈ {2, 5, 20});
          /// the rest are unlabelled, their cameras hidden from training (`MultiView.withoutCameras`).
          Labelled: int
          Pipeline: Reconstruct.Pipelines.Ssr.Config
          /// σ of the soft silhouettes as a factor of `Pipeline.SoftRas.Sigma`, by iteration.
          Sigma: Optim.Schedule
          /// The input view of evaluation and validation, an index into the 24 multi-views.
          EvalView: int
          /// Validation: mean 3D IoU over at most this many val instances (0 = none), with the
          /// pseudo-labels' coverage and accuracy.
          ValidationInstances: int
          /// Test evaluation: at most this many instances (0 = the whole test split).
          TestInstances: int
          /// Surface points per mesh for Chamfer and F-score.
          EvalPoints: int }

    /// The pipeline name stored in config.json and checkpoints.
    val pipelineName: string

    /// Iterations of the baseline's stop rule and schedules.
    val baselineIterations: int

    /// SSR's recipe scaled to 2 CPU cores: SoftRas' baseline (batch 16, Adam 1e-4) for
    /// `baselineIterations` (1,000), learning rate and σ ×0.3 at 75% (SSR: 150k of 200k); 8 of
    /// the 16 objects of a batch pseudo-labelled once labels exist; SiamVP at half SSR's width
    /// (32: an SSR iteration 0.73 s instead of 1.04 s, SoftRas' alone 0.37–0.42 s; labelling
    /// 1.2 s instead of 2.6 s per 10 objects with the 45° check); labelling every 100 iterations
    /// (SSR: 400 of 200k), 100 unlabelled objects a round in turn (SSR: all of them each round),
    /// gated by SiamVP's accuracy on 64 labelled images (SSR's batch; the iteration's 16 images
    /// let ssr_chair_5 reach no round in 1,000 iterations); 2 labelled procedural chairs of 1,000.
    val baseline: Experiment<Method>

    /// The SoftRas reference of an SSR experiment under another name: the same data, seed,
    /// SoftRas configuration, batch, schedules and stop rule, trained on the first `labelled`
    /// objects alone (SoftRas-N) or on every training object (None: SoftRas-all).
    val softRasReference: name: string -> labelled: int option -> experiment: Experiment<Method> -> Experiment<SoftRas.Method>

    /// The labelled first `labelled` objects of a training split, and the unlabelled rest with
    /// their cameras hidden (NaN). Fails unless 1 ≤ labelled < Count.
    val split: train: Reconstruct.Data.MultiView.Set -> labelled: int -> Reconstruct.Data.MultiView.Set * Reconstruct.Data.MultiView.Set

    /// The unlabelled objects as the pipeline sees them: images, no cameras.
    val unlabelledOf: set: Reconstruct.Data.MultiView.Set -> Reconstruct.Pipelines.Ssr.Unlabelled

    /// Labelled object 0's views and cameras (what pseudo-labels name), and every labelled
    /// object's views with their ids (what gates a labelling round).
    val referencesOf: labelled: Reconstruct.Data.MultiView.Set -> Reconstruct.Pipelines.Ssr.References

    /// The pipeline's labelled part of a step from a loader batch (the same tensors).
    val labelledOf: batch: Reconstruct.Data.MultiView.Batch -> Reconstruct.Pipelines.Ssr.Labelled

    /// The draws of step (iteration, phase) under the experiment's seed.
    val stepRng: seed: uint64 -> iteration: int -> phase: int -> SplitMix64

    /// Trains into `runDir` (resume: continue the run there), then evaluates the test split
    /// as SoftRas does and, when `results` is given, writes `<results>/<Name>.md` and `.json`
    /// with the pseudo-labels' coverage and accuracy over training.
    val run:
        runDir: string ->
        results: string option ->
        experiment: Experiment<Method> ->
        resume: bool ->
        cancel: CancellationToken ->
        log: (string -> unit) ->
            RunSummary

/// UNICORN (Monnier et al. 2022; issue 12): textured mesh, pose and background learned from
/// single images alone, alternating a pose step and a 3D step every iteration.
module Unicorn =

    /// How training images are given.
    type Protocol =
        /// The multi-view renders used as single images: RGB on white, no view identity, no
        /// camera, no mask (UNICORN's ShapeNet setting; elevation 30°).
        | Renders
        /// Single views at random poses over random backgrounds, `views` per instance.
        | Wild of views: int

    /// The method's part of the experiment record.
    type Method =
        { Data: TrainingData
          Protocol: Protocol
          /// The data's one seed: shapes, splits, views.
          DataSeed: uint64
          /// Where rendered training sets are kept between runs.
          Cache: string
          Pipeline: Reconstruct.Pipelines.Unicorn.Config
          /// Progressive conditioning and frozen heads, in iterations.
          Curriculum: Reconstruct.Pipelines.Unicorn.Curriculum
          /// The input view of the first evaluation and validation instance, an index into the
          /// 24 multi-views; instance i is seen from view (EvalView + 7 i) mod 24 (renders
          /// protocol).
          EvalView: int
          /// Validation (mask IoU, azimuth accuracy, PSNR) and the azimuth offset: at most
          /// this many val instances.
          ValidationInstances: int
          /// Test evaluation: at most this many instances (0 = the whole test split).
          TestInstances: int
          /// Surface points per mesh for Chamfer and F-score.
          EvalPoints: int }

    /// Iterations of the baseline's stop rule and curriculum.
    val baselineIterations: int

    /// UNICORN's recipe scaled to 2 CPU cores. Measured (`reconstruct bench --only unicorn`, batch
    /// 32): 1.7 s an iteration with the perceptual term on the 3D step and its neighbour swaps
    /// (0.56 s of it the perceptual network), so batch 16, the perceptual term on the 3D step's
    /// reconstruction only (`PerceptualInSwaps = false`), 6,000 iterations with the curriculum
    /// scaled to them, Adam 1e-4 (×0.2 at 90%), 1,000 procedural chairs as single renders.
    val baseline: Experiment<Method>

    /// The chair recipe measured to make poses (`unicorn_chair_every_lr1e-3`): the baseline on
    /// 1,000 procedural chairs with Adam 1e-3 instead of 1e-4 and every candidate's error in the
    /// pose step (`Weights.EveryCandidate` = 1), its curriculum and learning-rate drop (×0.2 at
    /// 90%) scaled to `iterations`, the wall-clock guard 25 min per 1,000 iterations.
    val chair: iterations: int -> Experiment<Method>

    /// The pipeline for the wild protocol: a learned background, and pose ranges covering
    /// `DatasetRender.wildView`'s elevation and roll.
    val wildPipeline: Reconstruct.Pipelines.Unicorn.Config

    /// The pipeline name stored in config.json and checkpoints.
    val pipelineName: string

    /// The dataset camera `view` as a pose of the true object frame (orbit rotation, the view's
    /// shift and distance as translation, its scale): what a prediction's own pose is compared
    /// with, and how `Alignment.toTrueObjectFrame` brings a prediction into the truth's frame.
    val truePose: view: Reconstruct.Data.DatasetRender.View -> Reconstruct.Geometry.Pose

    /// Trains into `runDir` (resume: continue the run there), then evaluates the test split
    /// (shapes by `reconstruct eval`'s code; poses, mask IoU, PSNR/SSIM of the re-render) into
    /// `runDir/eval` and, when `results` is given, writes `<results>/<Name>.md` and `.json`.
    val run:
        runDir: string ->
        results: string option ->
        experiment: Experiment<Method> ->
        resume: bool ->
        cancel: CancellationToken ->
        log: (string -> unit) ->
            RunSummary

/// The pipeline name written in `runDir/config.json`, to resume a run without knowing its method.
val pipelineOf: runDir: string -> string

/// Resumes the run in `runDir` with the experiment its config.json holds; `stop`, when given,
/// replaces its stop rule (to train longer in a later session).
val resume: runDir: string -> stop: Stop option -> results: string option -> cancel: CancellationToken -> log: (string -> unit) -> RunSummary

/// What an experiment script calls last: runs `experiment` with `run` (e.g. `SoftRas.run`)
/// into `runs/<Name>` (or `--out <dir>`), continuing it with `--resume`, and writes the results
/// into `experiments/results`. Ctrl+C (or SIGTERM) stops the run after the current step with a
/// checkpoint.
/// Returns the exit code: 0 done, 1 diverged, 2 bad arguments, 130 interrupted.
val script:
    run: (string -> string option -> Experiment<'M> -> bool -> CancellationToken -> (string -> unit) -> RunSummary) ->
    experiment: Experiment<'M> ->
    args: string[] ->
        int
