/// metrics.jsonl of a run directory: one JSON object per line, appended as training goes.
///   training step: {"iteration": 12, "epoch": 0, "batch": 12, "loss": {"total": 0.41, ...},
///                   "lr": 0.0001, "it_per_s": 3.2, "memory_mb": 812.5, "elapsed_s": 3.75}
///   validation:    {"iteration": 500, "validation": {"val_iou": 0.31, ...}}
/// A step line's "iteration" is the step's index from 0 (what the loss and schedules saw); a
/// validation line's is the number of steps taken when it ran. Values are written in the
/// shortest form that reads back to the same float64, so lines compare bitwise.
namespace Reconstruct.Train

/// One training step's line.
type StepLine =
    { Iteration: int
      Epoch: int
      /// The batch's index within its epoch.
      Batch: int
      /// Loss terms in the learner's order ("phase<k>.<name>" when a learner has phases).
      Losses: (string * float) list
      Lr: float
      /// 1 / this step's wall-clock seconds (data wait included).
      ItPerS: float
      /// Resident memory of the process, MB (2^20 bytes).
      MemoryMb: float
      /// Seconds of training since the run began (over resumed sessions).
      ElapsedS: float }

type MetricsLine =
    | Step of StepLine
    | Validation of iteration: int * values: (string * float) list

module Metrics =
    /// "metrics.jsonl".
    [<Literal>]
    val FileName: string = "metrics.jsonl"

    /// The line's JSON (one line, no newline).
    val toJson: line: MetricsLine -> string

    /// Every line of a metrics file (raises InvalidDataException naming the file and line).
    val read: path: string -> MetricsLine list

    /// Keeps the lines that precede a resume at `steps` steps taken (steps with Iteration <
    /// steps, validations with iteration <= steps), rewritten atomically. A missing file
    /// becomes empty.
    val truncate: path: string -> steps: int -> unit

    /// Appends lines to a metrics file, each flushed to the OS at once (a killed run keeps
    /// the lines of its finished steps).
    [<Sealed>]
    type Writer =
        new: path: string -> Writer
        member Append: line: MetricsLine -> unit
        interface System.IDisposable
