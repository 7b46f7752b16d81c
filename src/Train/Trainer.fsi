/// The training loop, apart from every model: it owns the optimiser (Adam over the learner's
/// parameters), the learning rate from the schedule, one disposal scope per step, the stop
/// rule, checkpoints and exact resume, metrics.jsonl, curves.png and progress.
///
/// Run directory:
///   config.json     the Experiment record (Config.toJson) plus "Pipeline", written at the start
///   metrics.jsonl   one line per step and per validation (see Metrics)
///   checkpoints/    iter-<steps>.safetensors (the last 3) and last.safetensors, and
///                   best.safetensors with `KeepBest`
///   curves.png      loss and validation curves, redrawn at each checkpoint and at the end
///   eval/           left empty for the caller's evaluation
namespace Reconstruct.Train

open System
open System.Threading
open Reconstruct.Torch

/// What the trainer needs of a model, and nothing more.
type Learner<'Batch> =
    { /// The pipeline's name ("softras"), stored in config.json and every checkpoint; a
      /// checkpoint of another pipeline is refused on resume.
      Pipeline: string
      /// Trained tensors (leaves requiring grad), all updated by one Adam optimiser.
      Parameters: Layers.Named
      /// Other state saved in checkpoints (running statistics).
      Buffers: Layers.Named
      /// Every generator the learner draws from during a step; checkpointed and restored.
      Generators: (string * Generator) list
      /// Optimiser steps per iteration (> 0): UNICORN alternates pose and 3D steps.
      Phases: int
      /// `Loss iteration phase batch`: named scalar terms of this step (created in the step's
      /// disposal scope), one named "total", which is back-propagated.
      Loss: int -> int -> 'Batch -> (string * Tensor) list
      /// `Validate steps`: validation metrics ("val_iou") after `steps` steps; every EvalEvery
      /// steps and at the end. It must not draw from `Generators` (a resumed run would differ).
      Validate: int -> (string * float) list }

/// The training data. An epoch's order is a pure function of (seed, epoch), so the data
/// position is (epoch, batch index): `Epoch epoch start` yields the batches of `epoch` from
/// index `start` on, which a resumed run uses to start mid-epoch without making the batches
/// before its position (`MultiView.epochFrom`). The sequence is advanced inside the step's
/// disposal scope (as `Loader`'s batches expect): the scope frees the batch's tensors and
/// whatever making it left behind, and the trainer disposes the batch after its step. So an
/// epoch's sequence must not keep a tensor it made while advancing for a later batch (make
/// such tensors before enumerating, or on a prefetch thread). An epoch that ends before
/// `BatchesPerEpoch` batches moves on to the next.
type Data<'Batch when 'Batch :> IDisposable> =
    { BatchesPerEpoch: int
      Epoch: int -> int -> seq<'Batch> }

type StopReason =
    /// The stop rule's iteration count was reached.
    | Finished
    /// The stop rule's minutes ran out.
    | TimeBudget
    /// The cancellation token was set: the step in progress finished and was checkpointed.
    | Cancelled
    /// A loss term (phase-prefixed when Phases > 1) was NaN or infinite at this iteration (0-based,
    /// as `Loss` saw it); nothing of that step was saved.
    | NonFinite of iteration: int * term: string

type Outcome =
    { /// Steps taken in total (over resumed sessions).
      Iterations: int
      Reason: StopReason
      /// The newest checkpoint of the run directory.
      LastCheckpoint: string option
      /// checkpoints/best.safetensors when the experiment has `KeepBest` and a validation
      /// gave its metric a value (metadata "best_metric", "best_value", and its step).
      BestCheckpoint: string option
      /// Wall-clock seconds of this call.
      Seconds: float
      /// Seconds of the training loop summed over every session of the run (what `Stop.Minutes`
      /// counts): the run's training cost when it was resumed.
      TrainingSeconds: float
      /// One line for a person: why the run stopped, and where.
      Message: string }

/// A run directory cannot be used as asked (not empty, no checkpoint, another experiment);
/// the message is one line naming the directory or file.
exception TrainerError of problem: string

module Trainer =
    /// "config.json".
    [<Literal>]
    val ConfigFile: string = "config.json"
    /// "checkpoints".
    [<Literal>]
    val CheckpointsFolder: string = "checkpoints"
    /// "eval".
    [<Literal>]
    val EvalFolder: string = "eval"
    /// "last.safetensors".
    [<Literal>]
    val LastCheckpointFile: string = "last.safetensors"
    /// "best.safetensors" (see `Experiment.KeepBest`).
    [<Literal>]
    val BestCheckpointFile: string = "best.safetensors"

    /// The checkpoint a resume starts from: checkpoints/last.safetensors, else the newest
    /// checkpoints/iter-*.safetensors; None when there is none.
    val lastCheckpoint: runDir: string -> string option

    /// The pipeline name in the run's config.json, to choose the method before reading the
    /// whole record (raises ConfigError naming the file).
    val pipelineOf: runDir: string -> string

    /// The run's experiment (`Config.ofJsonFile` of its config.json).
    val readExperiment<'Method> : runDir: string -> Experiment<'Method>

    /// config.json's text for this experiment and pipeline.
    val configJson: pipeline: string -> experiment: Experiment<'Method> -> string

    /// Trains until the stop rule, the token or a non-finite loss. `resume = false` needs a
    /// missing or empty `runDir`; `resume = true` needs a checkpoint in it, of the same
    /// pipeline, shapes and experiment (only `Stop` may change), restores it, cuts
    /// metrics.jsonl back to it and continues exactly. Refusals raise TrainerError,
    /// ConfigError or CheckpointError naming the file, before anything is written. `log` gets
    /// every message; progress shows as `Display.Auto` chooses.
    val run:
        runDir: string ->
        experiment: Experiment<'Method> ->
        learner: Learner<'Batch> ->
        data: Data<'Batch> ->
        resume: bool ->
        cancel: CancellationToken ->
        log: (string -> unit) ->
            Outcome

    /// `run` with the progress display chosen by the caller (tests, log files).
    val runWith:
        display: Display ->
        runDir: string ->
        experiment: Experiment<'Method> ->
        learner: Learner<'Batch> ->
        data: Data<'Batch> ->
        resume: bool ->
        cancel: CancellationToken ->
        log: (string -> unit) ->
            Outcome
