/// The main job on the built-in default (`dotnet fsi build.fsx demo`): procedural chairs the
/// shipped model never saw (the test split of the seed and count it was trained on) are
/// rendered, reconstructed by `reconstruct predict`'s code from single images, scored against
/// their ground truth as the training runs are (the prediction moved into the true object
/// frame through its own and the true camera, ICP, Chamfer-L1 beside the template row), and
/// shown in one HTML report.
module Reconstruct.App.Demo

open System.Threading

type Options =
    { /// The model, as `Predict.load` takes it.
      Model: string
      /// The output folder: benchmark/, inputs/, predictions/, aligned/, report.html.
      Out: string
      /// The procedural category, seed and count the model was trained on: the test split of
      /// these instances is what the demo reconstructs.
      Category: string
      Seed: uint64
      Count: int
      /// How many test instances.
      Instances: int }

    /// unicorn-chair on 12 test chairs of seed 42, count 1000, into artifacts/demo.
    static member Defaults: Options

type Result =
    { Report: string
      Instances: int
      /// Means over the instances scored.
      ChamferL1: float
      TemplateChamferL1: float
      SecondsPerImage: float
      /// Wall-clock seconds of the whole demo.
      Seconds: float }

/// Renders (once; kept in Out/benchmark, named with `Procedural.revisionTag` after a recipe's
/// first revision), predicts, scores and reports. Raises as
/// `Predict.run` does for a model that cannot be loaded or an output that cannot be written.
val run: options: Options -> cancel: CancellationToken -> log: (string -> unit) -> Result
