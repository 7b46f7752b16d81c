/// How a run shows its progress: a Spectre.Console live panel on a terminal, plain lines every
/// few seconds otherwise (CI, a log file). The trainer reports every step; the reporter decides
/// what to show and when.
namespace Reconstruct.Train

/// What the trainer knows after a step.
type Snapshot =
    { Name: string
      /// Steps taken.
      Iteration: int
      /// The stop rule's iteration count, if it has one.
      Total: int option
      Epoch: int
      /// Iterations per second, smoothed over the last few seconds.
      ItPerS: float
      /// Seconds to the stop rule (iterations or time budget, whichever is nearer).
      EtaSeconds: float option
      ElapsedS: float
      Lr: float
      /// The loss terms of the step, in the learner's order.
      Losses: (string * float) list }

type Display =
    /// Live when standard output is a terminal, plain otherwise.
    | Auto
    | Live
    | Plain

module Progress =
    /// True when standard output is a terminal (not redirected to a file or pipe).
    val isTerminal: unit -> bool

    /// "iteration 120/2000 (6%), 3.41 it/s, ETA 9m12s, total 0.1234, iou 0.3012"
    val line: snapshot: Snapshot -> string

    /// "9m12s", "2h03m", "41s".
    val duration: seconds: float -> string

    /// Runs `body report message`: `report` takes each step's snapshot, `message` a line of
    /// news (checkpoint written, validation). Plain: a progress line through `log` at most
    /// every `seconds` (and the last one when `body` returns); messages go to `log` at once.
    /// Live: a panel redrawn at most 5 times a second showing the latest messages; the
    /// messages go to `log` when the panel closes (writing to the console under a live panel
    /// would tear it).
    val within:
        display: Display ->
        seconds: float ->
        log: (string -> unit) ->
        body: ((Snapshot -> unit) -> (string -> unit) -> 'T) ->
            'T
