/// An experiment as one typed record, and its JSON form (config.json of a run directory).
/// Schedules are data (`Optim.Schedule`), so the JSON holds the whole experiment and a resumed
/// run replays it.
namespace Reconstruct.Train

open Reconstruct.Torch

/// When training ends: after `Iterations` optimizer iterations or `Minutes` of training
/// (summed over resumed sessions), whichever comes first; at least one must be given.
type Stop =
    { Iterations: int option
      /// Wall-clock minutes of the training loop (periodic validation and checkpoints
      /// included; setup and the final validation not), summed over resumed sessions.
      Minutes: float option }

/// The validation metric that chooses a run's best checkpoint (early stopping by selection).
type Monitor =
    { /// A name `Learner.Validate` returns ("val_iou3d").
      Metric: string
      HigherIsBetter: bool }

/// One training run. `'Method` is the method's own record (data spec, pipeline configuration,
/// its own schedules as data), so a script writes
/// `{ SoftRas.baseline with BatchSize = 32; Method = { SoftRas.baseline.Method with ... } }`.
type Experiment<'Method> =
    { Name: string
      /// The root of every random draw of the run (`Seed.child Seed "..."`).
      Seed: uint64
      Method: 'Method
      /// Adam's options; `Lr` is the base learning rate the schedule scales.
      Optimiser: Optim.Adam
      /// The learning rate as a pure function of the iteration (`Optim.Schedule.lr`).
      LearningRate: Optim.Schedule
      BatchSize: int
      Stop: Stop
      /// A checkpoint every this many iterations (> 0), plus one at the end.
      CheckpointEvery: int
      /// `Learner.Validate` every this many iterations (> 0), plus once at the end.
      EvalEvery: int
      /// Seconds between plain progress lines (>= 0; 0 = every iteration).
      ProgressSeconds: float
      /// Fine-tuning: a new run starts from the parameters and buffers of this checkpoint (a
      /// .safetensors file, or a run folder, whose last checkpoint is taken) instead of its
      /// random initialisation; the checkpoint must come from the same pipeline with the same
      /// shapes. The optimiser, the generators and the iteration count start afresh. A resumed
      /// run restores its own checkpoint and ignores this. Absent in JSON = None.
      InitFrom: string option
      /// Keeps checkpoints/best.safetensors: the state at the validation with the best value
      /// of this metric so far (the earliest on ties, NaN never best), which the method's
      /// evaluation then uses instead of the last state; small training sets overfit before
      /// the stop rule. None = evaluate the last state. Absent in JSON = None.
      KeepBest: Monitor option }

module Stop =
    /// At most `n` iterations.
    val iterations: n: int -> Stop
    /// At most `minutes` of training.
    val minutes: minutes: float -> Stop

module Experiment =
    /// Checks the trainer's fields (Name non-empty, BatchSize, periods > 0, a stop rule with
    /// positive values); raises ArgumentException, one line naming the field and the value.
    val validate: experiment: Experiment<'Method> -> unit

/// A config file is unreadable or does not match the record; the message is one line,
/// "config <path>: <what is wrong>".
exception ConfigError of path: string * problem: string

/// F# records, options and unions as JSON (FSharp.SystemTextJson): an option is its value or
/// null, a union case without fields its name ("Constant"), a case with fields an object
/// `{"MultiStep": {"milestones": [..], "gamma": 0.2}}`. Reading ignores fields the type does
/// not have (config.json carries the run's "Pipeline" beside the record's fields) and fails on
/// missing fields, unknown union cases and mistyped values.
module Config =
    /// The value as indented JSON.
    val toJson: value: 'T -> string

    /// The value from JSON text; `source` names it in errors (raises ConfigError).
    val ofJson<'T> : source: string -> json: string -> 'T

    /// The value from a JSON file (raises ConfigError naming the file and what is wrong).
    val ofJsonFile<'T> : path: string -> 'T

    /// `ofJson` of the JSON laid over `defaults`: each object field the JSON lacks, at any depth,
    /// takes its value in `defaults`; the JSON's own values, arrays whole, win. For files
    /// written before a field was added (a shipped model read by a later version). Returns the
    /// value and the dotted paths of the fields taken from `defaults`.
    val ofJsonOver<'T> : defaults: 'T -> source: string -> json: string -> 'T * string list

    /// One top-level string field of a JSON object file, e.g. "Pipeline" of a run's config.json,
    /// read before the method (and so the record type) is known. Raises ConfigError when the
    /// file is unreadable, not an object, or lacks the field or it is not a string.
    val stringField: path: string -> field: string -> string
